"""Onset-locked similarity alignment: one transform per clip, fitted on the reference frame.

MMNet sees ``apex − onset``; any misalignment between the two crops looks like motion
larger than a micro-expression (1–3 px). So the transform is fitted once, on the onset
(or a reference) frame, and the *same* transform is applied to every frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from mmnet_edge.align.detector import CallerSuppliedDetector, Face, FaceDetector, face_from
from mmnet_edge.align.face_checks import (
    check_face_in_image,
)
from mmnet_edge.align.transform import (
    TEMPLATE_5,
    AlignmentTransform,
    apply_transform,
    compose,
    similarity_transform,
)
from mmnet_edge.errors import DetectorUnavailableError, InputError, NoFaceError
from mmnet_edge.options import check_float_option, check_int_option
from mmnet_edge.preprocess import ColorOrder, as_rgb_uint8

Policy = Literal["largest", "central", "score"]


# Small similarity perturbations (dx, dy px at a 160-px view, scale, degrees) of the
# canonical view; averaging the detector over them smooths its landmark jitter.
_VIEW_PERTURBATIONS = (
    (2.0, 2.0, 1.05, 3.0),
    (-2.0, 2.0, 0.95, -3.0),
    (2.0, -2.0, 0.95, 3.0),
    (-2.0, -2.0, 1.05, -3.0),
    (2.0, 0.0, 1.10, -4.0),
    (-2.0, 0.0, 0.90, 4.0),
    (0.0, 2.0, 1.10, 4.0),
    (0.0, -2.0, 0.90, -4.0),
)


@dataclass
class AlignedPair:
    """Onset and apex crops (S×S×3 RGB uint8) warped with one ``transform``."""

    onset: np.ndarray
    apex: np.ndarray
    transform: AlignmentTransform

    @property
    def face(self) -> Face | None:
        return self.transform.face


@dataclass
class AlignedClip:
    """Every frame of a clip warped with the transform fitted on ``frames[reference]``."""

    frames: list[np.ndarray]
    transform: AlignmentTransform
    reference: int

    @property
    def face(self) -> Face | None:
        return self.transform.face


class Aligner:
    """Detect (or take) a face on the reference frame, warp every frame with one transform.

    Args:
        detector: any :class:`FaceDetector` (``None``: callers pass ``box=``/``landmarks=``).
        output_size: crop side in px (the model's input size: see :meth:`for_model`).
        margin: extra border around the canonical template, as a fraction of its size on
            each side (0.25 keeps brows and chin, where most action units live).
        policy: which face when several are found: ``largest``, ``central`` or ``score``.
        min_face: faces whose shorter box side is below this (px) are ignored.
        refine: refinement passes. Each re-detects the face on a canonical (upright,
            fixed-scale) ``refine_size`` px view of the current estimate; the last pass
            averages ``refine_views`` slightly perturbed views. This makes landmarks (and
            so the crop) far less sensitive to where, how large and how rotated the face
            is in the frame. ``refine=0`` uses the raw detection (fastest, ~3× jitter).
    """

    def __init__(
        self,
        detector: FaceDetector | None = None,
        output_size: int = 224,
        margin: float = 0.25,
        policy: Policy = "largest",
        min_face: int = 48,
        refine: int = 2,
        refine_views: int = 4,
        refine_size: int = 160,
    ) -> None:
        if policy not in ("largest", "central", "score"):
            raise InputError(f"policy must be largest, central or score, not {policy!r}")
        if int(output_size) < 16:
            raise InputError(f"output_size {output_size} is too small (≥ 16 px)")
        if not 0 <= margin <= 2:
            raise InputError(f"margin {margin} out of range [0, 2]")
        if not 0 <= refine_views <= len(_VIEW_PERTURBATIONS):
            raise InputError(f"refine_views must be 0..{len(_VIEW_PERTURBATIONS)}")
        if detector is not None and not isinstance(detector, FaceDetector):
            raise InputError(
                f"detector must have detect(image_bgr) -> list[Face], got {type(detector)}"
            )
        self.detector = detector
        self.output_size = int(output_size)
        self.margin = float(margin)
        self.policy: Policy = policy
        self.min_face = min_face
        self.refine = max(0, int(refine))
        self.refine_views = int(refine_views)
        self.refine_size = int(refine_size)
        self.template = self._template(self.output_size, self.margin)

    @classmethod
    def for_model(cls, model: Any, detector: FaceDetector | None = None, **kwargs: Any) -> Aligner:
        """An aligner whose crops match a model's input size.

        ``model``: a :class:`~mmnet_edge.metadata.ModelMetadata`, an ``MMNetConfig``, or
        anything with ``input_size`` (or ``metadata.input_size``).
        """
        size = getattr(model, "input_size", None)
        if size is None and hasattr(model, "metadata"):
            size = model.metadata.input_size
        if size is None and hasattr(model, "config"):
            size = model.config.input_size
        if size is None:
            raise InputError(f"cannot tell the input size of {type(model).__name__}")
        return cls(detector, output_size=int(size), **kwargs)

    @staticmethod
    def _template(size: int, margin: float) -> np.ndarray:
        return ((TEMPLATE_5 - 0.5) / (1 + 2 * margin) + 0.5) * size

    # ----------------------------------------------------------------- faces
    def choose(self, faces: Sequence[Face], image_shape: tuple[int, ...]) -> Face:
        """Apply ``min_face`` and the multi-face ``policy``."""
        big = [f for f in faces if f.size >= self.min_face]
        if not big:
            if faces:
                raise NoFaceError(
                    f"only faces smaller than min_face={self.min_face}px were found "
                    f"(largest {max(f.size for f in faces):.0f}px); move the camera closer, "
                    "use a larger frame, or lower min_face"
                )
            raise NoFaceError(
                "no face found in the reference frame; check lighting and framing, "
                "or pass the face box/landmarks yourself (box=/landmarks=)"
            )
        if self.policy == "score":
            return max(big, key=lambda f: f.score)
        if self.policy == "central":
            cy, cx = image_shape[0] / 2, image_shape[1] / 2
            return min(big, key=lambda f: (f.center[0] - cx) ** 2 + (f.center[1] - cy) ** 2)
        return max(big, key=lambda f: f.box[2] * f.box[3])

    def detect(self, image: np.ndarray, color: ColorOrder = "bgr") -> Face:
        """Detect, choose (policy, ``min_face``) and refine the face of one frame."""
        rgb = as_rgb_uint8(image, color, "frame")
        if self.detector is None:
            raise DetectorUnavailableError(
                "no face detector configured: use Aligner(detector=YuNetDetector(path)) or "
                "pass box=/landmarks= with each call"
            )
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        face = self.choose(self.detector.detect(bgr), rgb.shape)
        if isinstance(self.detector, CallerSuppliedDetector):
            # the caller's own tracker: its face is input to check, and it cannot re-detect
            # on the canonical views refinement warps (it returns the same image-space face)
            check_face_in_image(face, rgb.shape)
            return face
        if face.landmarks.shape[0] >= 5:
            for i in range(self.refine):
                views = self.refine_views if i == self.refine - 1 else 0
                face = self._refine(bgr, face, views)
        return face

    def _refine(self, bgr: np.ndarray, face: Face, views: int) -> Face:
        """Re-detect on the canonical view of ``face`` (plus ``views`` perturbed ones)."""
        n = self.refine_size
        view_tmpl = self._template(n, 0.5)
        base = similarity_transform(face.landmarks[:5], view_tmpl)
        k = n / 160.0
        found = []
        for dx, dy, s, a in _VIEW_PERTURBATIONS[:views] if views else [(0.0, 0.0, 1.0, 0.0)]:
            p = cv2.getRotationMatrix2D((n / 2, n / 2), a, s)
            p[:, 2] += (dx * k, dy * k)
            m = compose(p, base)
            view = cv2.warpAffine(
                bgr, m, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            faces = [f for f in self.detector.detect(view) if f.landmarks.shape[0] >= 5]
            if faces:
                lm = max(faces, key=lambda f: f.box[2] * f.box[3]).landmarks[:5]
                found.append(apply_transform(cv2.invertAffineTransform(m), lm))
        if not found:
            return face
        lm = np.mean(found, axis=0).astype(np.float32)
        return Face(face.box, lm, face.score, face.mesh)

    # ------------------------------------------------------------- transform
    def transform_from_box(self, box: Sequence[float]) -> np.ndarray:
        """Scale + translation placing a face box where the template puts a face."""
        x, y, w, h = face_from(box=box).box
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
        """Fit the crop transform on one frame.

        Uses, in order: ``landmarks`` (K×2, YuNet order), ``box`` (x, y, w, h; scale and
        translation only), ``face``, else the detector.
        """
        rgb = as_rgb_uint8(image, color, "reference frame")
        if landmarks is not None or box is not None:
            face = face_from(box, landmarks)
            check_face_in_image(face, rgb.shape)
        elif face is not None:
            check_face_in_image(face, rgb.shape)
        else:
            face = self.detect(rgb, "rgb")
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
            raise InputError(
                f"onset {on.shape[1]}×{on.shape[0]} and apex {ap.shape[1]}×{ap.shape[0]} "
                "sizes differ; both must come from the same camera stream"
            )
        t = self.fit(on, "rgb", face=face, box=box, landmarks=landmarks)
        return AlignedPair(self.warp(on, t, "rgb"), self.warp(ap, t, "rgb"), t)

    def align_clip(
        self,
        frames: Sequence[np.ndarray],
        reference: int = 0,
        color: ColorOrder = "bgr",
        face: Face | None = None,
        box: Sequence[float] | None = None,
        landmarks: np.ndarray | None = None,
    ) -> AlignedClip:
        """One transform (fitted on ``frames[reference]``) for every frame of a clip."""
        if len(frames) == 0:
            raise InputError("empty clip: give at least one frame")
        if not -len(frames) <= reference < len(frames):
            raise InputError(f"reference {reference} outside the clip (0..{len(frames) - 1})")
        reference %= len(frames)
        rgb = [as_rgb_uint8(f, color, f"frame {i}") for i, f in enumerate(frames)]
        sizes = {f.shape[:2] for f in rgb}
        if len(sizes) != 1:
            raise InputError(f"clip frames differ in size: {sorted(sizes)}")
        t = self.fit(rgb[reference], "rgb", face=face, box=box, landmarks=landmarks)
        return AlignedClip([self.warp(f, t, "rgb") for f in rgb], t, reference)


class ReferenceTracker:
    """One reference transform over a long stream, re-fitted only when the face drifts.

    Every ``check_every`` frames the face is found again (detector, or the ``box=`` /
    ``landmarks=`` the caller passes to :meth:`update`). The drift is how far the new fit
    would move the template points in the crop (mean px); only above ``drift_px`` is the
    reference replaced. With ``smoothing`` in (0, 1) the reference moves that fraction
    *less* than all the way each time (exponential smoothing; similarity matrices blend
    linearly), unless the drift exceeds ``snap_px`` (the person moved: jump at once).
    Between re-fits every frame gets the identical transform, so frame differences hold
    only facial motion.
    """

    def __init__(
        self,
        aligner: Aligner,
        drift_px: float = 4.0,
        check_every: int = 15,
        smoothing: float = 0.0,
        snap_px: float = 24.0,
    ) -> None:
        self.aligner = aligner
        # typed errors naming the option and its range (never a silent clamp)
        self.drift_px = check_float_option("drift_px", drift_px, 0.0)
        self.check_every = check_int_option("check_every", check_every, 1)
        self.smoothing = check_float_option("smoothing", smoothing, 0.0, 1.0, high_open=True)
        self.snap_px = check_float_option("snap_px", snap_px, 0.0)
        self.transform: AlignmentTransform | None = None
        self.refits = 0
        self.misses = 0
        self.last_drift = 0.0
        self._n = 0

    def reset(self) -> None:
        """Forget the reference (e.g. a new person); the next frame fits a new one."""
        self.transform = None
        self._n = 0

    def drift(self, candidate: AlignmentTransform) -> float:
        """Mean crop-px displacement of the template points if ``candidate`` replaced it."""
        assert self.transform is not None
        pts = self.aligner.template
        moved = apply_transform(
            compose(self.transform.matrix, cv2.invertAffineTransform(candidate.matrix)), pts
        )
        return float(np.linalg.norm(moved - pts, axis=1).mean())

    def update(
        self,
        frame: np.ndarray,
        color: ColorOrder = "bgr",
        box: Sequence[float] | None = None,
        landmarks: np.ndarray | None = None,
    ) -> np.ndarray:
        """Aligned crop of ``frame`` (S×S×3 RGB), re-fitting the reference only on drift."""
        rgb = as_rgb_uint8(frame, color, "frame")
        if self.transform is None:
            self.transform = self.aligner.fit(rgb, "rgb", box=box, landmarks=landmarks)
        elif self._n % self.check_every == 0:
            try:
                cand = self.aligner.fit(rgb, "rgb", box=box, landmarks=landmarks)
            except NoFaceError:
                cand = None
                self.misses += 1  # keep the last reference through short occlusions
            if cand is not None:
                self.last_drift = self.drift(cand)
                if self.last_drift > self.drift_px:
                    a = self.smoothing if self.last_drift <= self.snap_px else 0.0
                    m = a * self.transform.matrix + (1 - a) * cand.matrix
                    self.transform = AlignmentTransform(m, cand.face, cand.output_size)
                    self.refits += 1
        self._n += 1
        return self.aligner.warp(rgb, self.transform, "rgb")
