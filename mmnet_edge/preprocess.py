"""Image → tensor preprocessing shared by training, calibration and every runtime.

One implementation, so INT8 calibration and training see exactly what the runtime
feeds. Images are H×W×C uint8; the model wants N×3×S×S float32, RGB, [0,1],
normalised with the mean/std from :class:`~mmnet_edge.metadata.ModelMetadata`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np

from mmnet_edge.errors import InputError

ColorOrder = Literal["rgb", "bgr"]


def as_rgb_uint8(image: np.ndarray, color: ColorOrder = "bgr", name: str = "image") -> np.ndarray:
    """Validate an image and return it as contiguous H×W×3 RGB uint8.

    Grayscale (H×W or H×W×1) is replicated to three channels; 4-channel input drops
    alpha. ``color`` states the channel order of ``image`` (OpenCV gives ``"bgr"``).
    """
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name}: expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(
            f"{name}: expected uint8 pixels, got {image.dtype}; convert with "
            "np.clip(x, 0, 255).astype(np.uint8) (or pass image paths)"
        )
    if image.size == 0:
        raise InputError(f"{name}: empty image (shape {image.shape})")
    if color not in ("rgb", "bgr"):
        raise InputError(f"color must be 'rgb' or 'bgr', not {color!r}")
    if image.ndim == 2:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise InputError(
            f"{name}: expected H×W (gray) or H×W×{{1,3,4}} image, got shape {image.shape}"
        )
    if image.shape[2] == 1:
        return cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        code = cv2.COLOR_BGRA2RGB if color == "bgr" else cv2.COLOR_RGBA2RGB
        return cv2.cvtColor(np.ascontiguousarray(image), code)
    if color == "bgr":  # cvtColor is ~10× faster than copying a reversed-stride view
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize to ``size×size`` (area filter when shrinking, bilinear when enlarging)."""
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image
    interp = cv2.INTER_AREA if size < min(h, w) else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def to_tensor(
    images_rgb: np.ndarray | Sequence[np.ndarray],
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
) -> np.ndarray:
    """RGB uint8 image(s) → N×3×size×size float32, scaled to [0,1] and normalised."""
    if isinstance(images_rgb, np.ndarray) and images_rgb.ndim == 3:
        images_rgb = [images_rgb]
    batch = np.stack([resize_square(im, size) for im in images_rgb]).astype(np.float32)
    batch *= 1.0 / 255.0
    batch -= np.asarray(mean, dtype=np.float32)
    batch /= np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def check_pair_tensors(onset: np.ndarray, apex: np.ndarray, size: int) -> None:
    """Raise :class:`InputError` unless both are N×3×size×size float32 of one batch."""
    for name, t in (("onset", onset), ("apex", apex)):
        if not isinstance(t, np.ndarray):
            raise InputError(f"{name}: expected a numpy array, got {type(t).__name__}")
        if t.dtype != np.float32:
            raise InputError(f"{name}: expected float32 tensor, got {t.dtype}")
        if t.ndim != 4 or t.shape[1] != 3 or t.shape[2:] != (size, size):
            raise InputError(
                f"{name}: expected N×3×{size}×{size} tensor, got shape {tuple(t.shape)}"
            )
    if onset.shape != apex.shape:
        raise InputError(f"onset {onset.shape} and apex {apex.shape} shapes differ")
