"""Reading frames: images and videos via OpenCV, with typed errors."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from mmnet_edge.errors import InputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """An image file as a uint8 BGR (or grey) array, EXIF orientation applied."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"image not found: {path}")
    data = cv2.imread(str(path), cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH)
    if data is None:
        raise InputError(f"{path} is not a readable image")
    if data.dtype == np.uint16:
        data = (data >> 8).astype(np.uint8)
    elif data.dtype != np.uint8:
        raise InputError(f"{path}: {data.dtype} pixels are not supported; save it as 8-bit")
    return data


def iter_video(path: str | os.PathLike[str], max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Frames (BGR) of a video file, one at a time."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video not found: {path}")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(f"{path}: cannot open video (unknown codec or corrupt file)")
        n = 0
        while max_frames is None or n < max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            n += 1
            yield frame
        if n == 0:
            raise InputError(f"{path}: no frame could be decoded (corrupt or unsupported video)")
    finally:
        cap.release()


def read_video(path: str | os.PathLike[str], max_frames: int = 2000) -> list[np.ndarray]:
    """All frames (BGR) of a video, at most ``max_frames``; at least two are required."""
    frames = list(iter_video(path, max_frames))
    if len(frames) < 2:
        raise InputError(f"{path}: fewer than two frames decoded; a clip needs two or more")
    return frames


def count_frames(path: str | os.PathLike[str]) -> int | None:
    """Frame count from the container header (``None`` when it does not say)."""
    cap = cv2.VideoCapture(str(path))
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    finally:
        cap.release()
    return n if n > 0 else None


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files of a folder in natural order (img2 before img10)."""

    def key(p: Path) -> list[object]:
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]

    files = [p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=key)
