"""Training-time augmentation: one geometry for onset and apex, temporal jitter.

The motion MMNet learns from is a 1–3 px difference between onset and apex, so both
frames must receive exactly the same flip, rotation and crop (the authors applied their
transforms to the stacked frames for this reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mmnet_edge.data.samples import Sample


@dataclass(frozen=True)
class AugmentConfig:
    """Authors' recipe: flip 0.5, rotation ±3°, random crop with 15 px padding (at 224)."""

    flip_p: float = 0.5
    rotation_deg: float = 3.0
    crop_padding: int = 15
    temporal_jitter: bool = True
    reference_size: int = 224


def pair_transform(rng: np.random.Generator, size: int, cfg: AugmentConfig) -> np.ndarray:
    """One random 2×3 affine (flip ∘ rotation ∘ padded-crop shift) for a size×size pair."""
    c = (size - 1) / 2.0
    angle = float(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg)) if cfg.rotation_deg else 0.0
    m = np.vstack([cv2.getRotationMatrix2D((c, c), angle, 1.0), [0, 0, 1]])
    if rng.random() < cfg.flip_p:
        flip = np.array([[-1.0, 0, 2 * c], [0, 1, 0], [0, 0, 1]])
        m = flip @ m
    pad = int(round(cfg.crop_padding * size / cfg.reference_size))
    if pad:
        tx, ty = rng.integers(-pad, pad + 1, size=2)
        m = np.array([[1.0, 0, tx], [0, 1, ty], [0, 0, 1]]) @ m
    return m[:2].astype(np.float32)


def augment_pair(
    onset: np.ndarray, apex: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Apply one random geometry to both size×size RGB uint8 frames (zero fill = padding)."""
    size = onset.shape[0]
    m = pair_transform(rng, size, cfg)
    warp = lambda im: cv2.warpAffine(  # noqa: E731
        im, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    return warp(onset), warp(apex)


def jitter_frames(sample: Sample, rng: np.random.Generator) -> tuple[Path, Path] | None:
    """Temporal jitter (authors' recipe): onset from [on, on+k], apex from [apex−k, apex] with
    k = ⌊0.15·(apex−on)/4⌋. ``None`` when the clip's intermediate frames are unknown."""
    frames = sample.frame_paths
    if len(frames) < 2:
        return None
    span = len(frames) - 1
    k = int(0.15 * span / 4)
    if k == 0:
        return frames[0], frames[-1]
    i = int(rng.integers(0, k + 1))
    j = span - int(rng.integers(0, k + 1))
    return frames[i], frames[j]


__all__ = ["AugmentConfig", "augment_pair", "jitter_frames", "pair_transform"]
