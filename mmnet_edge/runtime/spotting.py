"""Apex spotting: the frame of maximal face motion relative to the onset.

Clips of any length are spotted in bounded memory (:func:`spot_clip`): frames are read one
at a time (from a list, a video file or a folder of images), reduced to a small motion
signature, and only the onset and apex frames are kept; a video is decoded again to fetch
the apex.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mmnet_edge.errors import InputError
from mmnet_edge.options import check_int_option
from mmnet_edge.preprocess import ColorOrder, as_rgb_uint8, is_grey

_WORK_SIZE = 64  # motion is measured on small grey crops: cheap and robust to noise


def motion_signature(frame_rgb: np.ndarray, inner: float = 0.8) -> np.ndarray:
    """Small float32 grey image of the central face region used to measure motion."""
    h, w = frame_rgb.shape[:2]
    mh, mw = int(h * (1 - inner) / 2), int(w * (1 - inner) / 2)
    crop = frame_rgb[mh : h - mh, mw : w - mw]
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (_WORK_SIZE, _WORK_SIZE), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small.astype(np.float32), (0, 0), 1.0)  # sensor noise is not motion


def motion_between(reference: np.ndarray, frame: np.ndarray, grid: int = 8) -> float:
    """Localised motion between two signatures.

    The absolute difference (after removing a global brightness shift: illumination is
    not motion) is averaged over a ``grid×grid`` block grid; the score is the most active
    block minus the median block. A micro-expression moves one facial region, while
    noise and sub-pixel global jitter raise every block alike and cancel out.
    """
    diff = frame - reference
    diff -= float(diff.mean())
    blocks = cv2.resize(np.abs(diff), (grid, grid), interpolation=cv2.INTER_AREA)
    return float(blocks.max() - np.median(blocks))


#: the widest moving average over the motion curve: wider flattens the apex away
MAX_SMOOTHING = 31


def smooth(curve: np.ndarray, window: int = 3) -> np.ndarray:
    """Centered moving average (edge-padded, same length)."""
    if window <= 1 or curve.size < 2:
        return curve.astype(np.float64)
    pad = window // 2
    padded = np.pad(curve.astype(np.float64), (pad, window - 1 - pad), mode="edge")
    return np.convolve(padded, np.ones(window) / window, mode="valid")


def motion_curve(frames_rgb: Sequence[np.ndarray], onset_index: int = 0) -> np.ndarray:
    """Per-frame motion relative to ``frames_rgb[onset_index]`` (aligned crops)."""
    if len(frames_rgb) < 2:
        raise InputError("a clip needs at least two frames to spot an apex")
    if not 0 <= onset_index < len(frames_rgb):
        raise InputError(f"onset_index {onset_index} outside the clip (0..{len(frames_rgb) - 1})")
    ref = motion_signature(frames_rgb[onset_index])
    return np.array([motion_between(ref, motion_signature(f)) for f in frames_rgb])


def spot_apex(curve: np.ndarray, onset_index: int = 0, window: int = 3) -> int:
    """Index of the smoothed curve's maximum after the onset."""
    smoothed = smooth(np.asarray(curve, dtype=np.float64), window)
    after = smoothed[onset_index + 1 :]
    if after.size == 0:
        raise InputError("the onset is the last frame: no frame left to be the apex")
    return onset_index + 1 + int(np.argmax(after))


ClipSource = Sequence[np.ndarray] | str | os.PathLike[str]


class ClipFrames:
    """A clip's frames, read lazily: an in-memory sequence, a video file or a folder of
    images. Iterating yields validated RGB uint8 frames one at a time (all of one size and
    channel count); :meth:`at` fetches one frame (re-decoding a video up to it)."""

    def __init__(self, source: ClipSource, color: ColorOrder = "bgr") -> None:
        self._video: Path | None = None
        self._files: list[Path] | None = None
        self._frames: Sequence[np.ndarray] | None = None
        self.color: ColorOrder = color
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if path.is_dir():
                from mmnet_edge.io import list_images

                self._files = list(list_images(path))
                if not self._files:
                    raise InputError(f"{path}: no image files; a clip folder holds its frames")
            else:
                self._video = path
            self.color = "bgr"  # OpenCV decodes to BGR
        elif isinstance(source, np.ndarray) and source.ndim in (3, 4) and source.dtype == np.uint8:
            self._frames = source  # N×H×W(×C) array
        elif isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
            self._frames = source
        else:
            raise InputError(
                f"a clip is a list of frames, a video path or a folder, not {type(source).__name__}"
            )
        self._shape: tuple[int, ...] | None = None
        self._grey: bool | None = None
        #: a video's last full pass: decoded / declared frame counts, partial (io.iter_video)
        self.decode_report: dict[str, Any] = {}

    def _raw(self) -> Iterator[np.ndarray]:
        if self._video is not None:
            from mmnet_edge.io import iter_video

            yield from iter_video(self._video, report=self.decode_report)
        elif self._files is not None:
            from mmnet_edge.io import read_image

            for p in self._files:
                yield read_image(p)
        else:
            assert self._frames is not None
            yield from self._frames

    def _check(self, index: int, frame: np.ndarray) -> np.ndarray:
        rgb = as_rgb_uint8(frame, self.color, f"frame {index}")
        grey = is_grey(rgb)
        if self._shape is None:
            self._shape, self._grey = rgb.shape, grey
        elif rgb.shape != self._shape:
            raise InputError(
                f"frame {index} is {rgb.shape[1]}×{rgb.shape[0]}, frame 0 "
                f"{self._shape[1]}×{self._shape[0]}: all frames of a clip must have one size "
                "(one camera)"
            )
        elif grey != self._grey:
            raise InputError(
                f"frame {index} is {'grey' if grey else 'colour'} but frame 0 is "
                f"{'grey' if self._grey else 'colour'}: frames that are compared must come "
                "from one camera mode; convert all of them to grey (or use colour throughout)"
            )
        return rgb

    def __iter__(self) -> Iterator[np.ndarray]:
        for i, frame in enumerate(self._raw()):
            yield self._check(i, frame)

    def at(self, index: int) -> np.ndarray:
        """Frame ``index`` as RGB uint8 (an :class:`InputError` if the clip is shorter)."""
        if index < 0:
            raise InputError(f"frame index {index} is negative")
        if self._frames is not None:
            if index >= len(self._frames):
                raise InputError(f"frame {index} outside the clip (0..{len(self._frames) - 1})")
            return self._check(index, self._frames[index])
        frames = self._raw()
        try:
            for i, frame in enumerate(frames):
                if i == index:
                    return self._check(i, frame)
        finally:
            frames.close()  # releases the video decoder now, not at garbage collection
        raise InputError(f"frame {index} outside the clip ({self._video or 'folder'} is shorter)")

    def known_length(self) -> int | None:
        """Frame count when known without decoding (in-memory frames, image folders)."""
        if self._frames is not None:
            return len(self._frames)
        return len(self._files) if self._files is not None else None


@dataclass
class ClipSpot:
    """The result of :func:`spot_clip`: onset/apex indices and crops, the motion curve."""

    onset_index: int
    apex_index: int
    onset: np.ndarray
    apex: np.ndarray
    curve: np.ndarray
    frames: int
    timings_ms: dict[str, float] = field(default_factory=dict)


def spot_clip(
    clip: ClipFrames,
    onset_index: int = 0,
    prepare: Callable[[np.ndarray], Callable[[np.ndarray], np.ndarray]] | None = None,
    smoothing: int = 3,
) -> ClipSpot:
    """Spot the apex of a clip of any length in bounded memory.

    ``prepare(onset_rgb)`` returns the crop function applied to every frame (e.g. the
    aligner's warp with the transform fitted on the onset); ``None`` uses frames as given.
    Memory: one frame at a time, one motion value per frame, the onset and apex crops.
    """
    onset_index = check_int_option("onset_index", onset_index, 0)
    smoothing = check_int_option("smoothing", smoothing, 1, MAX_SMOOTHING)
    known = clip.known_length()
    if known is not None and known < 2:
        raise InputError(f"a clip needs at least two frames, got {known}")
    t0 = time.perf_counter()
    onset_rgb = clip.at(onset_index)
    crop = prepare(onset_rgb) if prepare is not None else (lambda f: f)
    onset = crop(onset_rgb)
    reference = motion_signature(onset)
    t1 = time.perf_counter()
    curve = np.fromiter(
        (motion_between(reference, motion_signature(crop(f))) for f in clip), dtype=np.float64
    )
    if curve.size < 2:
        raise InputError("a clip needs at least two frames to spot an apex")
    if onset_index >= curve.size:
        raise InputError(f"onset_index {onset_index} outside the clip (0..{curve.size - 1})")
    apex_index = spot_apex(curve, onset_index, smoothing)
    t2 = time.perf_counter()
    apex = crop(clip.at(apex_index))
    t3 = time.perf_counter()
    timings = {"fit": (t1 - t0) * 1e3, "scan": (t2 - t1) * 1e3, "fetch_apex": (t3 - t2) * 1e3}
    return ClipSpot(onset_index, apex_index, onset, apex, curve, int(curve.size), timings)
