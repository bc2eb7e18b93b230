"""Apex spotting: the frame of maximal face motion relative to the onset."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from mmnet_edge.errors import InputError

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
