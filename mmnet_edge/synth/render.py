"""Frame renderer: a face in a head pose, warped by a motion, with per-frame nuisance.

``make_pair`` draws an onset/apex pair (same pose; the apex carries the class motion plus
jitter, illumination change and noise), ``make_clip`` a clip whose motion ramps up to an
apex and back. Everything is deterministic from the generator passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from mmnet_edge.errors import DatasetError
from mmnet_edge.synth.config import REFERENCE_SIZE, SyntheticConfig
from mmnet_edge.synth.face import FaceIdentity, canonical_face
from mmnet_edge.synth.motion import Motion, sample_motion


@dataclass(frozen=True)
class Pose:
    """Head pose applied identically to every frame of a sample (similarity transform)."""

    dx: float = 0.0
    dy: float = 0.0
    angle_deg: float = 0.0
    scale: float = 1.0


@dataclass(frozen=True)
class Nuisance:
    """Per-frame nuisance relative to the onset: jitter, illumination, noise."""

    dx: float = 0.0
    dy: float = 0.0
    angle_deg: float = 0.0
    gain: float = 1.0
    gradient: tuple[float, float] = (0.0, 0.0)
    noise_std: float = 0.0
    noise_seed: int = 0


def render_face(
    identity: FaceIdentity, rng: np.random.Generator | None = None, size: int = REFERENCE_SIZE
) -> np.ndarray:
    """The face of ``identity`` as H×W×3 RGB uint8; with ``rng``, in a random head pose."""
    pose = _sample_pose(rng, SyntheticConfig(image_size=size)) if rng is not None else None
    return _render(identity, size, None, 0.0, pose, None)


def _sample_pose(rng: np.random.Generator, cfg: SyntheticConfig) -> Pose:
    return Pose(
        dx=float(rng.uniform(-1, 1) * cfg.pose_shift_px),
        dy=float(rng.uniform(-1, 1) * cfg.pose_shift_px),
        angle_deg=float(rng.uniform(-1, 1) * cfg.pose_rotation_deg),
        scale=float(1 + rng.uniform(-1, 1) * cfg.pose_scale),
    )


def _sample_nuisance(
    rng: np.random.Generator, cfg: SyntheticConfig, strength: float = 1.0
) -> Nuisance:
    return Nuisance(
        dx=float(rng.uniform(-1, 1) * cfg.jitter_px * strength),
        dy=float(rng.uniform(-1, 1) * cfg.jitter_px * strength),
        angle_deg=float(rng.uniform(-1, 1) * cfg.jitter_rotation_deg * strength),
        gain=float(1 + rng.uniform(-1, 1) * cfg.illumination * strength),
        gradient=(
            float(rng.uniform(-1, 1) * cfg.illumination * 60 * strength),
            float(rng.uniform(-1, 1) * cfg.illumination * 60 * strength),
        ),
        noise_std=cfg.noise_std,
        noise_seed=int(rng.integers(0, 2**31 - 1)),
    )


def _affine(pose: Pose | None, nuis: Nuisance | None, size: int) -> np.ndarray:
    """Forward 2×3 similarity: canonical face → output frame (pose, then jitter)."""
    k = size / REFERENCE_SIZE
    c = (size / 2, size / 2)
    m = np.vstack([np.eye(2, 3), [0, 0, 1]])
    for p in (pose, nuis):
        if p is None:
            continue
        scale = p.scale if isinstance(p, Pose) else 1.0
        a = cv2.getRotationMatrix2D(c, p.angle_deg, scale)
        a[:, 2] += (p.dx * k, p.dy * k)
        m = np.vstack([a, [0, 0, 1]]) @ m
    return m[:2]


def _render(
    identity: FaceIdentity,
    size: int,
    motion: Motion | None,
    strength: float,
    pose: Pose | None,
    nuis: Nuisance | None,
) -> np.ndarray:
    base = canonical_face(identity, size)
    fwd = np.vstack([_affine(pose, nuis, size), [0, 0, 1]])
    inv = np.linalg.inv(fwd)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    qx = inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2]
    qy = inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2]
    if motion is not None and strength != 0.0:
        amp = motion.amplitude_px * strength * size / REFERENCE_SIZE
        lms = identity.landmarks
        dx = np.zeros_like(qx)
        dy = np.zeros_like(qy)
        for name, ux, uy, sigma in motion.bumps:
            px, py = lms[name][0] * size, lms[name][1] * size
            s = sigma * size
            w = np.exp(-((qx - px) ** 2 + (qy - py) ** 2) / (2 * s * s))
            dx += w * ux * amp
            dy += w * uy * amp
        # forward displacement d: out(q) = base(q - d(q)) (small, smooth field)
        qx = qx - dx
        qy = qy - dy
    out = cv2.remap(
        base,
        qx.astype(np.float32),
        qy.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )
    if nuis is not None:
        gx, gy = nuis.gradient
        ramp = (gx * (xx / size - 0.5) + gy * (yy / size - 0.5))[..., None]
        out = out * nuis.gain + ramp
        if nuis.noise_std > 0:
            nrng = np.random.default_rng(nuis.noise_seed)
            out = out + nrng.normal(0, nuis.noise_std, out.shape).astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _noise_only(rng: np.random.Generator, cfg: SyntheticConfig) -> Nuisance:
    return Nuisance(noise_std=cfg.noise_std, noise_seed=int(rng.integers(0, 2**31 - 1)))


def make_pair(
    identity: FaceIdentity,
    class_index: int,
    rng: np.random.Generator,
    size: int = REFERENCE_SIZE,
    cfg: SyntheticConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(onset, apex) RGB uint8 frames: same pose, apex carries the class motion + nuisance."""
    cfg = cfg or SyntheticConfig(image_size=size)
    motion = sample_motion(class_index, rng, cfg)
    pose = _sample_pose(rng, cfg)
    onset = _render(identity, size, None, 0.0, pose, _noise_only(rng, cfg))
    apex = _render(identity, size, motion, 1.0, pose, _sample_nuisance(rng, cfg))
    return onset, apex


def make_clip(
    identity: FaceIdentity,
    class_index: int,
    n_frames: int,
    apex_index: int,
    rng: np.random.Generator,
    size: int = REFERENCE_SIZE,
    cfg: SyntheticConfig | None = None,
) -> list[np.ndarray]:
    """A clip whose motion ramps from 0 (frame 0) to full at ``apex_index`` and back to 0 at
    the last frame; every frame gets its own small jitter, illumination drift and noise."""
    if n_frames < 1 or not 0 <= apex_index < n_frames:
        raise DatasetError(f"make_clip: apex_index {apex_index} outside 0..{n_frames - 1}")
    cfg = cfg or SyntheticConfig(image_size=size)
    motion = sample_motion(class_index, rng, cfg)
    pose = _sample_pose(rng, cfg)
    frames = []
    for t in range(n_frames):
        if t <= apex_index:
            s = t / apex_index if apex_index else 1.0
        else:
            s = (n_frames - 1 - t) / max(1, n_frames - 1 - apex_index)
        s = 0.5 - 0.5 * math.cos(math.pi * s)  # smooth onset/offset
        nuis = _sample_nuisance(rng, cfg) if t else _noise_only(rng, cfg)
        frames.append(_render(identity, size, motion, s, pose, nuis))
    return frames


__all__ = ["Nuisance", "Pose", "make_clip", "make_pair", "render_face"]
