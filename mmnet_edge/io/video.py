"""Decoding video files frame by frame (OpenCV), with typed errors."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

import cv2
import numpy as np

from mmnet_edge.errors import InputError

VIDEO_SUFFIXES: tuple[str, ...] = (
    ".mp4",
    ".avi",
    ".mov",
    ".mkv",
    ".webm",
    ".m4v",
    ".mpg",
    ".mpeg",
)
"""File suffixes (lower case) treated as videos everywhere."""


def is_video_path(path: str | os.PathLike[str]) -> bool:
    """True for names with a video suffix, excluding hidden files."""
    p = PurePath(path)
    return p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".")


class PartialVideoWarning(UserWarning):
    """A video stopped decoding before the frame count its container declares."""


def is_partial(decoded: int, declared: int | None) -> bool:
    """Fewer frames decoded than declared, beyond the 2 % (+1) by which containers'
    estimates (duration × fps) can be off."""
    return declared is not None and decoded < declared * 0.98 - 1


def iter_video(
    path: str | os.PathLike[str],
    max_frames: int | None = None,
    report: dict[str, Any] | None = None,
) -> Iterator[np.ndarray]:
    """Frames (H×W×3 BGR ``uint8``) of a video file, one at a time.

    A video that stops decoding early (a truncated or damaged tail) is not passed off as a
    short one: a :class:`PartialVideoWarning` names both counts, and ``report`` (a dict the
    caller passes) receives ``decoded``, ``declared`` and ``partial``. No decodable frame at
    all is an :class:`InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video not found: {path}")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(f"{path}: cannot open video (unknown codec or corrupt file)")
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        n = 0
        while max_frames is None or n < max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            n += 1
            yield frame
        if n == 0:
            raise InputError(f"{path}: no frame could be decoded (corrupt or unsupported video)")
        stopped_early = max_frames is None or n < max_frames
        partial = stopped_early and is_partial(n, declared)
        if report is not None:
            report.update(decoded=n, declared=declared, partial=partial)
        if partial:
            warnings.warn(
                f"{path.name}: decoded {n} of the {declared} frames its container declares "
                "(a truncated or damaged file?); the rest is missing from the result",
                PartialVideoWarning,
                stacklevel=2,
            )
    finally:
        cap.release()


def read_video(path: str | os.PathLike[str], max_frames: int | None = None) -> list[np.ndarray]:
    """All frames (BGR) of a video in memory; at least two are required. With ``max_frames``
    a longer video is an InputError (never silently cut); long clips should be streamed
    with :func:`iter_video` instead (``Runtime.predict_clip`` does)."""
    frames = list(iter_video(path, None if max_frames is None else max_frames + 1))
    if max_frames is not None and len(frames) > max_frames:
        raise InputError(
            f"{path} has more than {max_frames} frames; stream it with iter_video() or pass "
            "a larger max_frames"
        )
    if len(frames) < 2:
        raise InputError(f"{path}: fewer than two frames decoded; a clip needs two or more")
    return frames


def open_capture(
    video: str | os.PathLike[str] | None, camera: int | None
) -> tuple[Any, float | None, str]:
    """An opened ``cv2.VideoCapture``, its frame rate (None: use the wall clock) and a name;
    an :class:`InputError` saying what to check when it cannot be opened."""
    if (video is None) == (camera is None):
        raise InputError("give a VIDEO file or --camera N (one of them)")
    if video is not None:
        cap = cv2.VideoCapture(str(video))
        if not cap.isOpened():
            cap.release()
            if "://" in str(video):
                raise InputError(
                    f"{video}: cannot open the stream: check the URL, that the server is up and "
                    "reachable from here, and that OpenCV's FFmpeg build supports the protocol"
                )
            if not Path(video).exists():
                raise InputError(f"{video}: no such video file")
            raise InputError(f"{video}: cannot open video (unknown codec or corrupt file)")
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or None
        return cap, fps, Path(str(video)).name
    cap = cv2.VideoCapture(int(camera))  # type: ignore[arg-type]
    if not cap.isOpened():
        cap.release()
        raise InputError(
            f"cannot open camera {camera}: check that it exists (/dev/video{camera} on Linux), "
            "that no other program holds it, and that this user may read it (group 'video')"
        )
    return cap, None, f"camera {camera}"


def count_frames(path: str | os.PathLike[str]) -> int | None:
    """Frame count from the container header (``None`` when it does not say)."""
    cap = cv2.VideoCapture(str(path))
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    finally:
        cap.release()
    return n if n > 0 else None


__all__ = [
    "VIDEO_SUFFIXES",
    "PartialVideoWarning",
    "count_frames",
    "open_capture",
    "is_partial",
    "is_video_path",
    "iter_video",
    "read_video",
]
