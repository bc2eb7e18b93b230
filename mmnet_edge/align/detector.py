"""Face detectors: the ``FaceDetector`` protocol, YuNet (OpenCV), caller-supplied faces and
an optional MediaPipe landmarker."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from mmnet_edge.align.model_path import ENV_VAR, YUNET_FILE, resolve_detector_model
from mmnet_edge.errors import DetectorUnavailableError, InputError

__all__ = [
    "ENV_VAR",
    "YUNET_FILE",
    "CallerSuppliedDetector",
    "Face",
    "FaceDetector",
    "MediaPipeDetector",
    "YuNetDetector",
    "resolve_detector_model",
]


@dataclass
class Face:
    """One face: ``box`` (x, y, w, h px), ``landmarks`` (K×2 float32 px), ``score``.

    The first five landmarks follow YuNet's order: right eye, left eye, nose tip, right and
    left mouth corner (the subject's right eye appears on the image's left). ``mesh`` holds
    a dense landmark set when the detector has one (MediaPipe: 478×2), else ``None``.
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float = 1.0
    mesh: np.ndarray | None = None

    @property
    def size(self) -> float:
        """Shorter box side (px): what ``min_face`` is compared with."""
        return float(min(self.box[2], self.box[3]))

    @property
    def center(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return (x + w / 2, y + h / 2)

    def scaled(self, factor: float) -> Face:
        """The same face in an image resized by ``factor``."""
        return Face(
            tuple(float(v) * factor for v in self.box),  # type: ignore[arg-type]
            (self.landmarks * factor).astype(np.float32),
            self.score,
            None if self.mesh is None else (self.mesh * factor).astype(np.float32),
        )


@runtime_checkable
class FaceDetector(Protocol):
    """Anything with ``detect(image_bgr) -> list[Face]`` (H×W×3 uint8 BGR in, pixels out)."""

    def detect(self, image_bgr: np.ndarray) -> list[Face]: ...


_PROBE_SIDE = 64  # blank frame run once at construction to prove the model is YuNet


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """Raise OpenCV's log level to errors for this block only.

    OpenCV 5's new DNN graph engine logs "setPreferableTarget Targets are not supported by
    the new graph engine for now" each time ``FaceDetectorYN`` is created: it only means
    the (default CPU) target hint is ignored. Silenced here, not process-wide, so OpenCV's
    other warnings still show. (The level is global to OpenCV while the block runs.)
    """
    logging_api = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_api is None:  # builds without cv2.utils.logging
        yield
        return
    with _LOG_LOCK:
        previous = logging_api.getLogLevel()
        logging_api.setLogLevel(logging_api.LOG_LEVEL_ERROR)
        try:
            yield
        finally:
            logging_api.setLogLevel(previous)


_LOG_LOCK = threading.Lock()


def _check_bgr(image_bgr: np.ndarray) -> None:
    if (
        not isinstance(image_bgr, np.ndarray)
        or image_bgr.dtype != np.uint8
        or image_bgr.ndim != 3
        or image_bgr.shape[2] != 3
    ):
        shape = getattr(image_bgr, "shape", None)
        raise InputError(
            f"detector expects an H×W×3 uint8 BGR image, got {shape}; convert with "
            "mmnet_edge.preprocess.as_rgb_uint8 first"
        )


class YuNetDetector:
    """YuNet through OpenCV (``cv2.FaceDetectorYN``, core OpenCV ≥ 4.5.4; runs on Jetson).

    The model path comes from ``model_path``, ``$MMNET_EDGE_FACE_DETECTOR`` or the cache
    directory (see :func:`resolve_detector_model`). Frames whose longer side exceeds
    ``max_side`` are downscaled for detection and the results scaled back. With
    ``coarse_side`` (e.g. 320) detection first runs at that size and falls back to
    ``max_side`` only when it finds no face of at least ``coarse_min_face`` px there:
    about 2× faster on large frames, at the price of noisier landmarks (measured: mean
    crop error 1.3 px instead of 0.9 px after refinement; see docs/alignment.md).
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        max_side: int = 640,
        coarse_side: int | None = None,
        coarse_min_face: float = 24.0,
        top_k: int = 50,
    ) -> None:
        self.model_path: Path = resolve_detector_model(model_path)
        if not hasattr(cv2, "FaceDetectorYN"):
            raise DetectorUnavailableError(
                f"this OpenCV ({cv2.__version__}) has no FaceDetectorYN; install "
                "opencv-python-headless ≥ 4.5.4"
            )
        how = f"obtain '{YUNET_FILE}' again from the OpenCV model zoo"
        try:
            with quiet_opencv():  # OpenCV 5 warns "setPreferableTarget ..." on every create
                self._net = cv2.FaceDetectorYN.create(
                    str(self.model_path), "", (320, 320), score_threshold, nms_threshold, top_k
                )
        except cv2.error as exc:
            raise DetectorUnavailableError(
                f"{self.model_path} cannot be loaded as a YuNet model ({exc.err or exc}); {how}"
            ) from exc
        self.max_side = int(max_side)
        self.coarse_side = None if coarse_side is None else int(coarse_side)
        self.coarse_min_face = float(coarse_min_face)
        self._input_size: tuple[int, int] | None = None
        self._self_test(how)

    def _self_test(self, how: str) -> None:
        """Run one blank frame: a model that is not YuNet fails here, at construction, with
        a typed error (not later, raw, in the middle of a prediction)."""
        probe = np.zeros((_PROBE_SIDE, _PROBE_SIDE, 3), np.uint8)
        try:
            with quiet_opencv():
                self._net.setInputSize((_PROBE_SIDE, _PROBE_SIDE))
                _, rows = self._net.detect(probe)
        except cv2.error as exc:
            raise DetectorUnavailableError(
                f"{self.model_path} is not a YuNet face detector (a test frame failed: "
                f"{' '.join(str(exc.err or exc).split())}); {how}"
            ) from exc
        if rows is not None and (rows.ndim != 2 or rows.shape[1] < 15):
            raise DetectorUnavailableError(
                f"{self.model_path} returned rows of shape {rows.shape}, not YuNet's N×15 "
                f"(box, 5 landmarks, score); {how}"
            )
        self._input_size = (_PROBE_SIDE, _PROBE_SIDE)

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        _check_bgr(image_bgr)
        longest = max(image_bgr.shape[:2])
        if self.coarse_side is not None and longest > self.coarse_side:
            faces = self._detect_at(image_bgr, self.coarse_side)
            k = self.coarse_side / longest  # face sizes in the downscaled image
            if any(f.size * k >= self.coarse_min_face for f in faces):
                return faces
        return self._detect_at(image_bgr, self.max_side)

    def _detect_at(self, image_bgr: np.ndarray, max_side: int) -> list[Face]:
        h, w = image_bgr.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        img = image_bgr
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            img = cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA)
            scale_x, scale_y = size[0] / w, size[1] / h
        else:
            scale_x = scale_y = 1.0
        in_size = (img.shape[1], img.shape[0])
        if in_size != self._input_size:  # setInputSize re-plans the network: only on change
            self._net.setInputSize(in_size)
            self._input_size = in_size
        _, rows = self._net.detect(img)
        if rows is None:
            return []
        inv = np.array([1 / scale_x, 1 / scale_y], np.float64)
        faces = []
        for row in rows.astype(np.float64):
            x, y = row[0:2] * inv
            bw, bh = row[2:4] * inv
            lm = (row[4:14].reshape(5, 2) * inv).astype(np.float32)
            faces.append(Face((float(x), float(y), float(bw), float(bh)), lm, float(row[14])))
        return faces


class CallerSuppliedDetector:
    """A "detector" that returns faces the caller already has (a robot's face tracker).

    ``set(box=..., landmarks=...)`` before each frame (or once, for a fixed camera). No
    model is needed. With only a box, the face has no landmarks and the aligner derives a
    scale+translation transform from the box.
    """

    def __init__(
        self,
        box: Sequence[float] | None = None,
        landmarks: np.ndarray | None = None,
        score: float = 1.0,
    ) -> None:
        self._faces: list[Face] = []
        if box is not None or landmarks is not None:
            self.set(box=box, landmarks=landmarks, score=score)

    def set(
        self,
        box: Sequence[float] | None = None,
        landmarks: np.ndarray | None = None,
        score: float = 1.0,
    ) -> None:
        """Replace the supplied face (``None`` for both clears it: no face)."""
        empty = box is None and landmarks is None
        self._faces = [] if empty else [face_from(box, landmarks, score)]

    def set_faces(self, faces: Sequence[Face]) -> None:
        self._faces = list(faces)

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        return list(self._faces)


def face_from(
    box: Sequence[float] | None = None,
    landmarks: np.ndarray | None = None,
    score: float = 1.0,
) -> Face:
    """A :class:`Face` from a caller's box and/or landmarks (K×2, K ≥ 5, YuNet order)."""
    if landmarks is not None:
        lm = np.asarray(landmarks, np.float64)
        if lm.ndim != 2 or lm.shape[1] != 2 or lm.shape[0] < 5 or not np.isfinite(lm).all():
            raise InputError(
                f"landmarks must be a finite K×2 array with K ≥ 5 (right eye, left eye, nose "
                f"tip, right and left mouth corner first), got shape {lm.shape}"
            )
        if box is None:  # a detector-like box: ~2.5 interocular distances wide
            (x0, y0), (x1, y1) = lm[:5].min(0), lm[:5].max(0)
            side = max(2.5 * float(np.linalg.norm(lm[1] - lm[0])), 1.2 * max(x1 - x0, y1 - y0))
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            box = (cx - side / 2, cy - side / 2, side, side)
        return Face(_check_box(box), lm.astype(np.float32), score)
    if box is None:
        raise InputError("give a face box (x, y, w, h) or landmarks")
    return Face(_check_box(box), np.zeros((0, 2), np.float32), score)


def _check_box(box: Sequence[float]) -> tuple[float, float, float, float]:
    try:
        x, y, w, h = (float(v) for v in box)
    except (TypeError, ValueError) as exc:
        raise InputError(f"face box must be (x, y, w, h), got {box!r}") from exc
    if not (w > 0 and h > 0) or not np.isfinite([x, y, w, h]).all():
        raise InputError(f"face box must have positive, finite width/height, got {tuple(box)}")
    return (x, y, w, h)


# MediaPipe 478-point mesh → YuNet's five points. Eye points are eye-*corner* midpoints,
# not iris centres: gaze shifts must not move the crop.
_MP_EYE_R = (33, 133)
_MP_EYE_L = (362, 263)
_MP_NOSE = 1
_MP_MOUTH_R, _MP_MOUTH_L = 61, 291


class MediaPipeDetector:
    """MediaPipe Face Landmarker (478 points), optional and off by default.

    Needs the ``mediapipe`` extra and a ``face_landmarker.task`` model supplied by the
    user (recent wheels ship none). See docs/alignment.md for the kiosk caveats (GUI
    OpenCV build, libEGL/libGLESv2, a usage-logging lookup at task creation). Grayscale
    frames are replicated to RGB before they reach MediaPipe (it crashes on them).
    """

    def __init__(self, model_path: str | os.PathLike[str], max_faces: int = 4) -> None:
        try:
            import mediapipe as mp
            from mediapipe.tasks.python import vision
            from mediapipe.tasks.python.core.base_options import BaseOptions
        except Exception as exc:  # ImportError, or a missing libEGL/libGLESv2 at import
            raise DetectorUnavailableError(
                f"MediaPipe is not usable here ({type(exc).__name__}: {exc}); install the "
                "extra with `pip install mmnet-edge[mediapipe]` (needs libEGL and libGLESv2), "
                "or use YuNetDetector"
            ) from exc
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise DetectorUnavailableError(
                f"MediaPipe model not found: {path}. Obtain 'face_landmarker.task' from "
                "Google's MediaPipe model page (mediapipe wheels ship no models)"
            )
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=max_faces,
        )
        try:
            self._landmarker = vision.FaceLandmarker.create_from_options(options)
        except Exception as exc:  # RuntimeError from the C++ graph
            raise DetectorUnavailableError(f"MediaPipe cannot load {path}: {exc}") from exc
        self._mp = mp

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        _check_bgr(image_bgr)
        h, w = image_bgr.shape[:2]
        rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        result = self._landmarker.detect(
            self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        )
        faces = []
        for pts in result.face_landmarks:
            mesh = np.array([(p.x * w, p.y * h) for p in pts], np.float32)
            five = np.stack(
                [
                    mesh[list(_MP_EYE_R)].mean(0),
                    mesh[list(_MP_EYE_L)].mean(0),
                    mesh[_MP_NOSE],
                    mesh[_MP_MOUTH_R],
                    mesh[_MP_MOUTH_L],
                ]
            )
            (x0, y0), (x1, y1) = mesh.min(0), mesh.max(0)
            box = (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
            faces.append(Face(box, five.astype(np.float32), 1.0, mesh))
        return faces
