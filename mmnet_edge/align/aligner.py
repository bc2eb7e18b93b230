"""Onset-locked similarity alignment: one transform per clip, fitted on the reference frame.

MMNet sees ``apex − onset``; any misalignment between the two crops looks like motion
larger than a micro-expression (1–3 px). So the transform is fitted once, on the onset
(or a reference) frame, and the *same* transform is applied to every frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from mmnet_edge.align.detector import Face, FaceDetector
from mmnet_edge.errors import DetectorUnavailableError, InputError, NoFaceError
from mmnet_edge.preprocess import ColorOrder, as_rgb_uint8

Policy = Literal["largest", "central", "score"]

# Canonical 5-point template (ArcFace layout) in a unit square: right eye, left eye,
# nose tip, right and left mouth corners (as seen in the image: subject's right on the left).
TEMPLATE_5 = (
    np.array(
        [
            [38.2946, 51.6963],
            [73.5318, 51.5014],
            [56.0252, 71.7366],
            [41.5493, 92.3655],
            [70.7299, 92.2041],
        ],
        dtype=np.float64,
    )
    / 112.0
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (scale, rotation, translation) mapping ``src`` to ``dst``.

    Closed form (Umeyama, no reflection); returns a 2×3 matrix.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var = (s**2).sum() / len(src)
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    fix = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[1, 1] = -1
    rot = u @ fix @ vt
    scale = float((sig * np.diag(fix)).sum() / var)
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def apply_transform(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    pts = np.asarray(pts, np.float64)
    return pts @ m[:, :2].T + m[:, 2]


@dataclass
class AlignmentTransform:
    """A fitted crop: 2×3 ``matrix`` (image → crop), the ``face`` it came from, crop size."""

    matrix: np.ndarray
    face: Face | None
    output_size: int

    def landmarks_in_crop(self) -> np.ndarray | None:
        if self.face is None:
            return None
        return apply_transform(self.matrix, self.face.landmarks)


@dataclass
class AlignedPair:
    onset: np.ndarray  # RGB uint8 S×S×3
    apex: np.ndarray
    transform: AlignmentTransform

    @property
    def face(self) -> Face | None:
        return self.transform.face


@dataclass
class AlignedClip:
    frames: list[np.ndarray]
    transform: AlignmentTransform
    reference: int

    @property
    def face(self) -> Face | None:
        return self.transform.face


class Aligner:
    """Detect (or take) a face on the reference frame, warp every frame with one transform.

    ``margin`` widens the crop around the canonical template (0.25 keeps brows and chin,
    where most micro-expression action units live). ``min_face`` (px) rejects faces too
    small to carry 1–3 px motions.
    """

    def __init__(
        self,
        detector: FaceDetector | None = None,
        output_size: int = 224,
        margin: float = 0.25,
        policy: Policy = "largest",
        min_face: int = 48,
        refine: int = 1,
        refine_size: int = 160,
    ) -> None:
        if policy not in ("largest", "central", "score"):
            raise InputError(f"policy must be largest, central or score, not {policy!r}")
        if output_size < 16:
            raise InputError(f"output_size {output_size} is too small")
        self.detector = detector
        self.output_size = output_size
        self.margin = margin
        self.policy = policy
        self.min_face = min_face
        self.refine = refine
        self.refine_size = refine_size
        self.template = ((TEMPLATE_5 - 0.5) / (1 + 2 * margin) + 0.5) * output_size

    # ----------------------------------------------------------------- faces
    def choose(self, faces: Sequence[Face], image_shape: tuple[int, ...]) -> Face:
        """Apply ``min_face`` and the multi-face ``policy``."""
        big = [f for f in faces if f.size >= self.min_face]
        if not big:
            if faces:
                raise NoFaceError(
                    f"only faces smaller than min_face={self.min_face}px were found "
                    f"(largest {max(f.size for f in faces):.0f}px); move closer or lower min_face"
                )
            raise NoFaceError(
                "no face found in the reference frame; check lighting/framing, "
                "or pass the face box/landmarks yourself"
            )
        if self.policy == "score":
            return max(big, key=lambda f: f.score)
        if self.policy == "central":
            cy, cx = image_shape[0] / 2, image_shape[1] / 2
            return min(big, key=lambda f: (f.center[0] - cx) ** 2 + (f.center[1] - cy) ** 2)
        return max(big, key=lambda f: f.box[2] * f.box[3])

    def detect(self, image_rgb: np.ndarray) -> Face:
        if self.detector is None:
            raise DetectorUnavailableError(
                "no face detector configured: give Aligner(detector=YuNetDetector(path)) or pass "
                "box=/landmarks= with each call"
            )
        faces = self.detector.detect(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
        face = self.choose(faces, image_rgb.shape)
        for _ in range(self.refine):
            face = self._refine(image_rgb, face)
        return face

    def _refine(self, image_rgb: np.ndarray, face: Face) -> Face:
        """Re-detect on a canonical (upright, fixed-scale) view, with its mirror image.

        A detector's landmarks jitter with the face's position, scale and rotation in the
        frame; re-detecting on a normalised view and averaging with the mirrored view
        makes them far more consistent (measured: mean landmark error in the crop roughly
        halves under shifts, 0.8–1.25× scaling and ±10° rotations).
        """
        if face.landmarks.shape[0] < 5:
            return face
        n = self.refine_size
        view_aligner = Aligner(None, n, margin=0.5)
        t = view_aligner.fit(image_rgb, "rgb", landmarks=face.landmarks)
        view = cv2.cvtColor(view_aligner.warp(image_rgb, t, "rgb"), cv2.COLOR_RGB2BGR)
        found = []
        for mirrored in (False, True):
            img = cv2.flip(view, 1) if mirrored else view
            faces = [f for f in self.detector.detect(img) if f.landmarks.shape[0] >= 5]
            if not faces:
                continue
            lm = max(faces, key=lambda f: f.box[2] * f.box[3]).landmarks[:5].astype(np.float64)
            if mirrored:  # undo the flip: swap left/right points, mirror x
                lm = lm[[1, 0, 2, 4, 3]]
                lm[:, 0] = n - 1 - lm[:, 0]
            found.append(lm)
        if not found:
            return face
        inv = cv2.invertAffineTransform(t.matrix)
        lm = apply_transform(inv, np.mean(found, axis=0)).astype(np.float32)
        return Face(face.box, lm, face.score)

    # ------------------------------------------------------------- transform
    def transform_from_box(self, box: Sequence[float]) -> np.ndarray:
        x, y, w, h = (float(v) for v in box)
        if w <= 0 or h <= 0:
            raise InputError(f"face box must have positive width/height, got {tuple(box)}")
        # A detector box is ~2.5 interocular distances wide; 1.28 makes a box-only crop
        # frame the face like the landmark template does.
        side = max(w, h) * 1.28 * (1 + 2 * self.margin)
        scale = self.output_size / side
        cx, cy = x + w / 2, y + h / 2
        return np.array(
            [
                [scale, 0, self.output_size / 2 - scale * cx],
                [0, scale, self.output_size / 2 - scale * cy],
            ]
        )

    def fit(
        self,
        image: np.ndarray,
        color: ColorOrder = "bgr",
        face: Face | None = None,
        box: Sequence[float] | None = None,
        landmarks: np.ndarray | None = None,
    ) -> AlignmentTransform:
        """Fit the crop transform on one frame (detecting unless a face/box/landmarks is given)."""
        rgb = as_rgb_uint8(image, color, "reference frame")
        if landmarks is not None:
            lm = np.asarray(landmarks, np.float64)
            if lm.ndim != 2 or lm.shape[1] != 2 or lm.shape[0] < 5:
                raise InputError(f"landmarks must be K×2 with K ≥ 5, got {lm.shape}")
            x0, y0 = lm.min(0)
            x1, y1 = lm.max(0)
            face = Face((x0, y0, x1 - x0, y1 - y0), lm[:5].astype(np.float32))
        elif box is not None:
            m = self.transform_from_box(box)
            return AlignmentTransform(
                m, Face(tuple(float(v) for v in box), np.zeros((0, 2))), self.output_size
            )
        elif face is None:
            face = self.detect(rgb)
        if face.landmarks.shape[0] >= 5:
            m = similarity_transform(face.landmarks[:5], self.template)
        else:
            m = self.transform_from_box(face.box)
        return AlignmentTransform(m, face, self.output_size)

    def warp(
        self, image: np.ndarray, transform: AlignmentTransform, color: ColorOrder = "bgr"
    ) -> np.ndarray:
        """Crop one frame with a fitted transform → S×S×3 RGB uint8."""
        rgb = as_rgb_uint8(image, color)
        s = transform.output_size
        return cv2.warpAffine(
            rgb, transform.matrix, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )

    # ------------------------------------------------------------------ API
    def align_pair(
        self,
        onset: np.ndarray,
        apex: np.ndarray,
        color: ColorOrder = "bgr",
        face: Face | None = None,
        box: Sequence[float] | None = None,
        landmarks: np.ndarray | None = None,
    ) -> AlignedPair:
        """Fit on the onset, apply the same transform to the apex."""
        on = as_rgb_uint8(onset, color, "onset")
        ap = as_rgb_uint8(apex, color, "apex")
        if on.shape != ap.shape:
            raise InputError(f"onset {on.shape[:2]} and apex {ap.shape[:2]} sizes differ")
        t = self.fit(on, "rgb", face=face, box=box, landmarks=landmarks)
        return AlignedPair(self.warp(on, t, "rgb"), self.warp(ap, t, "rgb"), t)

    def align_clip(
        self,
        frames: Sequence[np.ndarray],
        reference: int = 0,
        color: ColorOrder = "bgr",
        **face_hint: object,
    ) -> AlignedClip:
        """One transform (fitted on ``frames[reference]``) for every frame of a clip."""
        if len(frames) == 0:
            raise InputError("empty clip")
        if not 0 <= reference < len(frames):
            raise InputError(f"reference {reference} outside the clip (0..{len(frames) - 1})")
        rgb = [as_rgb_uint8(f, color, f"frame {i}") for i, f in enumerate(frames)]
        if len({f.shape for f in rgb}) != 1:
            raise InputError("clip frames differ in size")
        t = self.fit(rgb[reference], "rgb", **face_hint)  # type: ignore[arg-type]
        return AlignedClip([self.warp(f, t, "rgb") for f in rgb], t, reference)


class ReferenceTracker:
    """Keeps one reference transform over a long stream; re-fits only on drift.

    Every ``check_every`` frames the face is detected again; if its landmarks, mapped
    into the crop, are more than ``drift_px`` (mean) from where the reference put them,
    the transform is re-fitted (optionally on landmarks smoothed with weight ``smoothing``
    toward the new detection). Between re-fits every frame gets the identical transform.
    """

    def __init__(
        self,
        aligner: Aligner,
        drift_px: float = 4.0,
        check_every: int = 15,
        smoothing: float = 0.0,
    ) -> None:
        self.aligner = aligner
        self.drift_px = drift_px
        self.check_every = max(1, check_every)
        self.smoothing = smoothing
        self.transform: AlignmentTransform | None = None
        self.refits = 0
        self._n = 0

    def update(self, frame: np.ndarray, color: ColorOrder = "bgr") -> np.ndarray:
        """Aligned crop of ``frame`` (RGB), re-fitting the reference only when needed."""
        rgb = as_rgb_uint8(frame, color, "frame")
        if self.transform is None:
            self.transform = self.aligner.fit(rgb, "rgb")
        elif self._n % self.check_every == 0 and self.transform.face is not None:
            try:
                face = self.aligner.detect(rgb)
            except NoFaceError:
                face = None
            if face is not None and face.landmarks.shape[0] >= 5:
                now = apply_transform(self.transform.matrix, face.landmarks[:5])
                drift = float(np.linalg.norm(now - self.aligner.template, axis=1).mean())
                if drift > self.drift_px:
                    if self.smoothing > 0:
                        old = self.transform.face.landmarks[:5]
                        face = Face(
                            face.box,
                            (
                                self.smoothing * old + (1 - self.smoothing) * face.landmarks[:5]
                            ).astype(np.float32),
                            face.score,
                        )
                    self.transform = self.aligner.fit(rgb, "rgb", face=face)
                    self.refits += 1
        self._n += 1
        return self.aligner.warp(rgb, self.transform, "rgb")
