"""Decoding image files: the one reader used by training, calibration and the runtime.

Every image that enters mmnet-edge from disk goes through :func:`read_image`, so a frame
decodes to the same pixels whichever tool reads it:

* output is always H×W×3 ``uint8`` in OpenCV's **BGR** order;
* the EXIF orientation tag is applied (a phone photo taken in portrait comes out upright);
* grey images are replicated to three channels; an alpha channel is dropped (the colour
  channels are used as stored, not composited), as :func:`mmnet_edge.preprocess.as_rgb_uint8`
  does for in-memory arrays;
* 16-bit images are scaled to 8 bits by **rounding x / 257** (see :func:`to_uint8`);
* a missing, empty, unreadable or undecodable file raises
  :class:`~mmnet_edge.errors.InputError` naming the path.

This module sits at the bottom layer: it imports only numpy, OpenCV, the standard library
and :mod:`mmnet_edge.errors`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePath

import cv2
import numpy as np

from mmnet_edge.errors import InputError

IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
"""File suffixes (lower case) treated as images everywhere: datasets, folders of frames, CLI."""

# Colour (grey replicated, alpha dropped), any bit depth; EXIF orientation is applied because
# neither IMREAD_UNCHANGED nor IMREAD_IGNORE_ORIENTATION is set.
_DECODE_FLAGS = cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH

_DIGITS = re.compile(r"(\d+)")


def to_uint8(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Convert decoded pixels to ``uint8``: 8-bit unchanged, 16-bit as ``round(x / 257)``.

    ``x / 257`` maps the 16-bit range [0, 65535] exactly onto [0, 255] and is the inverse
    of the usual 8 → 16-bit widening ``v * 257``, so an 8-bit image saved as 16-bit comes
    back bit-identical. Rounding to nearest (libpng's ``png_set_scale_16``) keeps the error
    within half a grey level; truncating rules (``x >> 8``, ``int(x / 257)``) darken by half a
    level on average. Other depths (float, 32-bit) raise :class:`InputError`.
    """
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    raise InputError(
        f"{name}: {image.dtype} pixels are not supported; save the image as 8- or 16-bit"
    )


def decode_image(
    data: bytes | bytearray | memoryview | np.ndarray, name: str = "image"
) -> np.ndarray:
    """Decode an encoded image (file bytes) to H×W×3 BGR ``uint8`` by the rules above."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise InputError(f"{name}: encoded image bytes must be uint8, not {data.dtype}")
        buf = data.reshape(-1)
    else:
        buf = np.frombuffer(data, dtype=np.uint8)
    if buf.size == 0:
        raise InputError(f"{name}: empty file; it is not an image")
    try:
        image = cv2.imdecode(buf, _DECODE_FLAGS)
    except cv2.error as exc:  # some codecs raise instead of returning None
        raise InputError(f"{name}: cannot decode the image ({exc}); is it corrupt?") from exc
    if image is None or image.size == 0:
        suffixes = ", ".join(IMAGE_SUFFIXES)
        raise InputError(
            f"{name}: cannot decode the image (corrupt file or unsupported format; "
            f"use one of {suffixes})"
        )
    if image.ndim == 2:  # defensive: IMREAD_COLOR always gives 3 channels
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(to_uint8(image, name))


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """An image file as H×W×3 BGR ``uint8``, EXIF orientation applied (see module docs)."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not an image file" if path.is_dir() else "not found"
        raise InputError(f"image {path} {what}; check the path")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read image {path}: {exc.strerror or exc}") from exc
    return decode_image(data, str(path))


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True for names with an image suffix, excluding hidden files (e.g. macOS ``._x.jpg``)."""
    p = PurePath(path)
    return p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")


def natural_sort_key(text: str | os.PathLike[str]) -> tuple[tuple[str | int, ...], str]:
    """Sort key ordering embedded numbers by value: ``img2 < img10``, ``sub2 < sub10``.

    Text parts compare case-insensitively; ties (``img01``/``img1``, ``A``/``a``) fall back
    to the plain string so the order is total and reproducible. Paths compare by full path.
    """
    s = os.fspath(text) if isinstance(text, os.PathLike) else str(text)
    parts = _DIGITS.split(s)  # alternates text, digits, text, …
    key = tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts))
    return key, s


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly in ``folder``, in natural order (``img2`` before ``img10``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder of images; check the path")
    files = [p for p in folder.iterdir() if is_image_path(p) and p.is_file()]
    return sorted(files, key=lambda p: natural_sort_key(p.name))


__all__ = [
    "IMAGE_SUFFIXES",
    "decode_image",
    "is_image_path",
    "list_images",
    "natural_sort_key",
    "read_image",
    "to_uint8",
]
