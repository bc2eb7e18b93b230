"""Face detectors: the ``FaceDetector`` protocol and YuNet through OpenCV."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from mmnet_edge.errors import DetectorUnavailableError, InputError

YUNET_FILE = "face_detection_yunet_2023mar.onnx"
ENV_VAR = "MMNET_EDGE_FACE_DETECTOR"


@dataclass
class Face:
    """One detected face: ``box`` (x, y, w, h), ``landmarks`` (K×2 px), ``score``.

    YuNet's five landmarks: right eye, left eye, nose tip, right and left mouth corner
    (the subject's right eye appears on the image's left).
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float = 1.0

    @property
    def size(self) -> float:
        return float(min(self.box[2], self.box[3]))

    @property
    def center(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return (x + w / 2, y + h / 2)


@runtime_checkable
class FaceDetector(Protocol):
    def detect(self, image_bgr: np.ndarray) -> list[Face]: ...


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mmnet-edge"


def resolve_detector_model(path: str | os.PathLike[str] | None = None) -> Path:
    """Find the YuNet model: argument → ``$MMNET_EDGE_FACE_DETECTOR`` → cache directory.

    The SDK never downloads it: :class:`DetectorUnavailableError` says what to fetch.
    """
    candidates: list[tuple[str, Path]] = []
    if path is not None:
        candidates.append(("argument", Path(path)))
    elif os.environ.get(ENV_VAR):
        candidates.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR])))
    else:
        candidates.append(("cache", default_cache_dir() / YUNET_FILE))
    for _, cand in candidates:
        if cand.is_file():
            return cand
    where, cand = candidates[0]
    raise DetectorUnavailableError(
        f"face detector model not found ({where}: {cand}). Obtain the YuNet model "
        f"'{YUNET_FILE}' from the OpenCV model zoo (opencv_zoo, models/face_detection_yunet) and "
        f"either pass its path (--detector / detector=...), set {ENV_VAR}=/path/to/{YUNET_FILE}, "
        f"or copy it to {default_cache_dir() / YUNET_FILE}. mmnet-edge never downloads it. "
        "Without a detector, pass face boxes/landmarks yourself or use align=False with crops."
    )


class YuNetDetector:
    """YuNet (``cv2.FaceDetectorYN``, core OpenCV ≥ 4.5.4; runs on Jetson CPUs).

    Frames larger than ``max_side`` are downscaled for detection and the results scaled
    back, which keeps detection at a few ms per frame.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        max_side: int = 640,
    ) -> None:
        self.model_path = resolve_detector_model(model_path)
        if not hasattr(cv2, "FaceDetectorYN"):
            raise DetectorUnavailableError(
                f"this OpenCV ({cv2.__version__}) has no FaceDetectorYN; install "
                "opencv-python-headless ≥ 4.5.4"
            )
        try:
            self._net = cv2.FaceDetectorYN.create(
                str(self.model_path), "", (320, 320), score_threshold, nms_threshold, 50
            )
        except cv2.error as exc:
            raise DetectorUnavailableError(
                f"{self.model_path} cannot be loaded as a YuNet model ({exc}); re-download "
                f"'{YUNET_FILE}'"
            ) from exc
        self.max_side = max_side

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise InputError(f"detector expects H×W×3 uint8 BGR, got {image_bgr.shape}")
        h, w = image_bgr.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        img = image_bgr
        if scale < 1.0:
            img = cv2.resize(
                image_bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        self._net.setInputSize((img.shape[1], img.shape[0]))
        _, faces = self._net.detect(img)
        if faces is None:
            return []
        out = []
        for row in faces:
            row = row.astype(np.float64) / scale
            out.append(
                Face(
                    box=(float(row[0]), float(row[1]), float(row[2]), float(row[3])),
                    landmarks=row[4:14].reshape(5, 2).astype(np.float32),
                    score=float(row[14] * scale),  # the score was divided too
                )
            )
        return out
