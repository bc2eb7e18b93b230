"""Synthetic micro-motion set: procedurally drawn faces with subtle AU-like motions.

Each *subject* is a random face identity (geometry, skin tone, skin texture, hair, lighting).
Each sample is an onset/apex pair of that face in a random head pose (shared by both frames)
where the apex adds a class-specific, local, smooth displacement field of 1–3 px at 224 px,
modelled on FACS action units:

========== ===================================================================
class      motion (apex relative to onset)
========== ===================================================================
happiness  AU12 lip-corner puller (+ AU6 cheek raiser): corners move out and up
disgust    AU4 brow lowerer + AU9 nose wrinkler: inner brows down/in, nose wings up
repression AU14 dimpler / AU15 lip-corner depressor: corners move in and down
surprise   AU1+2 brow raiser (+ AU5): both brows and upper lids move up
others     one random other AU: AU7 lid tightener, AU17 chin raiser, AU24 lip
           presser, AU2 unilateral brow, AU43 partial eye closure
========== ===================================================================

Nuisance the model must ignore is applied to the apex only: a global sub-pixel translation
and rotation (head jitter), an illumination change (gain + gradient), and independent sensor
noise on both frames. Everything is deterministic from ``SyntheticConfig.seed``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from mmnet_edge.data.samples import MEDataset, Sample
from mmnet_edge.errors import DatasetError
from mmnet_edge.metadata import CASME2_CLASSES

CLASS_NAMES: tuple[str, ...] = CASME2_CLASSES
CLASS_AUS: dict[str, str] = {
    "happiness": "6+12",
    "disgust": "4+9",
    "repression": "14+15",
    "surprise": "1+2+5",
    "others": "7|17|24|R2|43",
}
REFERENCE_SIZE = 224


@dataclass(frozen=True)
class SyntheticConfig:
    """How the synthetic set is drawn. Pixel amounts are at 224 px and scale with size."""

    subjects: int = 5
    samples_per_class: int = 8
    image_size: int = REFERENCE_SIZE
    amplitude_px: tuple[float, float] = (1.0, 3.0)
    jitter_px: float = 0.15
    jitter_rotation_deg: float = 0.05
    illumination: float = 0.04
    noise_std: float = 1.0
    pose_shift_px: float = 6.0
    pose_rotation_deg: float = 4.0
    pose_scale: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        if self.subjects < 1 or self.samples_per_class < 1:
            raise DatasetError("synthetic: subjects and samples_per_class must be ≥ 1")
        if self.image_size < 32:
            raise DatasetError(f"synthetic: image_size {self.image_size} is too small (≥ 32)")
        lo, hi = self.amplitude_px
        if not 0 <= lo <= hi:
            raise DatasetError(f"synthetic: amplitude_px {self.amplitude_px} must be 0 ≤ lo ≤ hi")
        object.__setattr__(self, "amplitude_px", (float(lo), float(hi)))

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["amplitude_px"] = list(self.amplitude_px)
        return d


@dataclass(frozen=True)
class FaceIdentity:
    """Geometry and appearance of one synthetic subject (unit coordinates, 0..1)."""

    cx: float
    cy: float
    face_rx: float
    face_ry: float
    eye_y: float
    eye_dx: float
    eye_rx: float
    eye_ry: float
    brow_gap: float
    brow_len: float
    brow_thick: float
    brow_tilt: float
    nose_len: float
    nose_w: float
    mouth_y: float
    mouth_w: float
    lip_thick: float
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    iris: tuple[int, int, int]
    lips: tuple[int, int, int]
    background: tuple[int, int, int]
    light_angle: float
    light_strength: float
    texture_seed: int

    @property
    def landmarks(self) -> dict[str, tuple[float, float]]:
        """Named points (unit coordinates) where the AU motions act."""
        ey, by, my = self.eye_y, self.eye_y - self.brow_gap, self.mouth_y
        return {
            "l_eye": (self.cx - self.eye_dx, ey),
            "r_eye": (self.cx + self.eye_dx, ey),
            "l_brow": (self.cx - self.eye_dx, by),
            "r_brow": (self.cx + self.eye_dx, by),
            "l_brow_in": (self.cx - self.eye_dx * 0.45, by + 0.01),
            "r_brow_in": (self.cx + self.eye_dx * 0.45, by + 0.01),
            "l_nose": (self.cx - self.nose_w, ey + self.nose_len * 0.8),
            "r_nose": (self.cx + self.nose_w, ey + self.nose_len * 0.8),
            "l_mouth": (self.cx - self.mouth_w, my),
            "r_mouth": (self.cx + self.mouth_w, my),
            "mouth": (self.cx, my),
            "l_cheek": (self.cx - self.eye_dx * 1.1, ey + 0.1),
            "r_cheek": (self.cx + self.eye_dx * 1.1, ey + 0.1),
            "chin": (self.cx, self.cy + self.face_ry * 0.82),
        }


def random_identity(rng: np.random.Generator) -> FaceIdentity:
    """Draw a random face identity."""
    u = rng.uniform
    tone = u(0.25, 1.0)
    skin = tuple(int(v) for v in np.array([235, 190, 160]) * (0.45 + 0.55 * tone) + u(-12, 12, 3))
    hair_level = u(15, 120)
    hair = tuple(int(np.clip(hair_level * f, 0, 255)) for f in (1.0, u(0.7, 0.95), u(0.5, 0.8)))
    return FaceIdentity(
        cx=0.5 + u(-0.015, 0.015),
        cy=0.53 + u(-0.015, 0.015),
        face_rx=u(0.30, 0.36),
        face_ry=u(0.40, 0.45),
        eye_y=u(0.42, 0.46),
        eye_dx=u(0.12, 0.15),
        eye_rx=u(0.045, 0.06),
        eye_ry=u(0.018, 0.026),
        brow_gap=u(0.06, 0.08),
        brow_len=u(0.07, 0.09),
        brow_thick=u(0.012, 0.02),
        brow_tilt=u(-0.015, 0.015),
        nose_len=u(0.13, 0.17),
        nose_w=u(0.035, 0.05),
        mouth_y=u(0.70, 0.74),
        mouth_w=u(0.085, 0.115),
        lip_thick=u(0.012, 0.022),
        skin=skin,  # type: ignore[arg-type]
        hair=hair,  # type: ignore[arg-type]
        iris=tuple(int(v) for v in u(30, 140, 3)),  # type: ignore[arg-type]
        lips=tuple(
            int(np.clip(c * u(0.7, 0.85), 0, 255))
            for c in (skin[0] * 0.95, skin[1] * 0.6, skin[2] * 0.6)
        ),  # type: ignore[arg-type]
        background=tuple(int(v) for v in u(40, 220, 3)),  # type: ignore[arg-type]
        light_angle=u(0, 2 * math.pi),
        light_strength=u(0.05, 0.25),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
    )


# --------------------------------------------------------------------------- drawing


def _pt(x: float, y: float, size: int) -> tuple[int, int]:
    s = 16  # cv2 sub-pixel drawing: shift=4
    return int(round(x * size * s)), int(round(y * size * s))


@functools.lru_cache(maxsize=64)
def _canonical_face(identity: FaceIdentity, size: int) -> np.ndarray:
    """The neutral, frontal face of ``identity`` (float32 RGB, 0..255)."""
    f = identity
    sh, aa = 4, cv2.LINE_AA
    trng = np.random.default_rng(f.texture_seed)
    img = np.empty((size, size, 3), np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    bg = np.array(f.background, np.float32)
    img[:] = bg * (0.85 + 0.3 * yy[..., None])
    canvas = np.clip(img, 0, 255).astype(np.uint8)
    r = lambda v: int(round(v * size * 16))  # noqa: E731
    # hair cap behind the face, neck
    cv2.ellipse(
        canvas,
        _pt(f.cx, f.cy - 0.04, size),
        (r(f.face_rx * 1.08), r(f.face_ry * 1.05)),
        0,
        0,
        360,
        f.hair,
        -1,
        aa,
        sh,
    )
    cv2.rectangle(
        canvas,
        _pt(f.cx - f.face_rx * 0.45, f.cy + 0.2, size),
        _pt(f.cx + f.face_rx * 0.45, 1.0, size),
        f.skin,
        -1,
        aa,
        sh,
    )
    cv2.ellipse(
        canvas, _pt(f.cx, f.cy, size), (r(f.face_rx), r(f.face_ry)), 0, 0, 360, f.skin, -1, aa, sh
    )
    # fringe
    cv2.ellipse(
        canvas,
        _pt(f.cx, f.cy - f.face_ry * 0.95, size),
        (r(f.face_rx * 0.95), r(f.face_ry * 0.28)),
        0,
        0,
        360,
        f.hair,
        -1,
        aa,
        sh,
    )
    lm = f.landmarks
    dark = tuple(int(c * 0.55) for c in f.skin)
    for side in (-1, 1):
        ex, ey = f.cx + side * f.eye_dx, f.eye_y
        cv2.ellipse(
            canvas,
            _pt(ex, ey, size),
            (r(f.eye_rx), r(f.eye_ry)),
            0,
            0,
            360,
            (245, 245, 240),
            -1,
            aa,
            sh,
        )
        cv2.circle(canvas, _pt(ex, ey, size), r(f.eye_ry * 0.95), f.iris, -1, aa, sh)
        cv2.circle(canvas, _pt(ex, ey, size), r(f.eye_ry * 0.45), (15, 15, 15), -1, aa, sh)
        cv2.ellipse(
            canvas,
            _pt(ex, ey, size),
            (r(f.eye_rx), r(f.eye_ry)),
            0,
            180,
            360,
            dark,
            max(1, size // 112),
            aa,
            sh,
        )
        # brow: thick arc, tilted
        bx, by = f.cx + side * f.eye_dx, f.eye_y - f.brow_gap
        pts = []
        for t in np.linspace(-1, 1, 9):
            x = bx + t * f.brow_len
            y = by - 0.012 * (1 - t * t) + side * t * f.brow_tilt
            pts.append(_pt(x, y, size))
        cv2.polylines(
            canvas,
            [np.array(pts, np.int32)],
            False,
            f.hair,
            max(1, int(f.brow_thick * size)),
            aa,
            sh,
        )
    # nose: bridge shading + nostrils
    nx, ny = lm["l_nose"], lm["r_nose"]
    cv2.line(
        canvas,
        _pt(f.cx - 0.01, f.eye_y + 0.02, size),
        _pt(f.cx - f.nose_w * 0.7, ny[1] - 0.01, size),
        dark,
        max(1, size // 150),
        aa,
        sh,
    )
    for p in (nx, ny):
        cv2.ellipse(
            canvas,
            _pt(p[0] * 0.5 + f.cx * 0.5, p[1], size),
            (r(0.014), r(0.008)),
            0,
            0,
            360,
            tuple(int(c * 0.4) for c in f.skin),
            -1,
            aa,
            sh,
        )
        cv2.ellipse(
            canvas,
            _pt(*p, size),
            (r(0.012), r(0.02)),
            0,
            90,
            270 if p is nx else -90,
            dark,
            max(1, size // 150),
            aa,
            sh,
        )
    # mouth: upper and lower lip, dark line between
    lx, rx, my = lm["l_mouth"][0], lm["r_mouth"][0], f.mouth_y
    upper = [
        _pt(
            lx + (rx - lx) * t,
            my - f.lip_thick * math.sin(math.pi * t) * (1 - 0.3 * math.cos(6 * t)),
            size,
        )
        for t in np.linspace(0, 1, 15)
    ]
    lower = [
        _pt(rx - (rx - lx) * t, my + f.lip_thick * 1.3 * math.sin(math.pi * t), size)
        for t in np.linspace(0, 1, 15)
    ]
    cv2.fillPoly(canvas, [np.array(upper + lower, np.int32)], f.lips, aa, sh)
    cv2.polylines(
        canvas,
        [
            np.array(
                [
                    _pt(lx + (rx - lx) * t, my + 0.002 * math.sin(math.pi * t), size)
                    for t in np.linspace(0, 1, 15)
                ],
                np.int32,
            )
        ],
        False,
        tuple(int(c * 0.35) for c in f.lips),
        max(1, size // 150),
        aa,
        sh,
    )
    img = canvas.astype(np.float32)
    # skin texture (pores / freckles at two scales) and directional lighting
    face_mask = (((xx - f.cx) / f.face_rx) ** 2 + ((yy - f.cy) / f.face_ry) ** 2 < 1.0).astype(
        np.float32
    )
    fine = trng.normal(0, 1, (size, size)).astype(np.float32)
    fine = cv2.GaussianBlur(fine, (0, 0), max(0.6, size / 224 * 0.8))
    coarse = cv2.GaussianBlur(trng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), size / 40)
    tex = 1.0 + face_mask * (
        0.06 * fine / (fine.std() + 1e-6) + 0.05 * coarse / (coarse.std() + 1e-6)
    )
    light = (
        1.0
        + f.light_strength
        * ((xx - 0.5) * math.cos(f.light_angle) + (yy - 0.5) * math.sin(f.light_angle))
        * 2
    )
    img *= (tex * light)[..., None]
    return np.clip(img, 0, 255)


def render_face(
    identity: FaceIdentity, rng: np.random.Generator | None = None, size: int = REFERENCE_SIZE
) -> np.ndarray:
    """The face of ``identity`` as H×W×3 RGB uint8; with ``rng``, in a random head pose."""
    pose = _sample_pose(rng, SyntheticConfig(image_size=size)) if rng is not None else None
    return _render(identity, size, None, 0.0, pose, None)


# --------------------------------------------------------------------------- motion

# A motion is a list of gaussian displacement bumps:
# (landmark, dx_unit, dy_unit, sigma_unit) ; displacement = amplitude * (dx, dy)
Bump = tuple[str, float, float, float]


def _class_bumps(class_name: str, rng: np.random.Generator) -> list[Bump]:
    if class_name == "happiness":  # AU12 (+AU6)
        return [
            ("l_mouth", -0.75, -0.65, 0.045),
            ("r_mouth", 0.75, -0.65, 0.045),
            ("l_cheek", 0.0, -0.35, 0.06),
            ("r_cheek", 0.0, -0.35, 0.06),
        ]
    if class_name == "disgust":  # AU4 + AU9
        return [
            ("l_brow_in", 0.45, 0.8, 0.04),
            ("r_brow_in", -0.45, 0.8, 0.04),
            ("l_nose", 0.15, -0.7, 0.035),
            ("r_nose", -0.15, -0.7, 0.035),
        ]
    if class_name == "repression":  # AU14 / AU15
        return [("l_mouth", 0.4, 0.9, 0.045), ("r_mouth", -0.4, 0.9, 0.045)]
    if class_name == "surprise":  # AU1+2 (+AU5)
        return [
            ("l_brow", 0.0, -1.0, 0.07),
            ("r_brow", 0.0, -1.0, 0.07),
            ("l_eye", 0.0, -0.3, 0.03),
            ("r_eye", 0.0, -0.3, 0.03),
        ]
    if class_name == "others":
        options: list[list[Bump]] = [
            [("l_eye", 0.0, -0.6, 0.035), ("r_eye", 0.0, -0.6, 0.035)],  # AU7 lower lid up
            [("chin", 0.0, -1.0, 0.07), ("mouth", 0.0, -0.4, 0.05)],  # AU17
            [
                ("mouth", 0.0, 0.0, 0.0),
                ("l_mouth", 0.5, 0.0, 0.04),
                ("r_mouth", -0.5, 0.0, 0.04),
            ],  # AU24/23
            [("r_brow", 0.0, -1.0, 0.06)]
            if rng.random() < 0.5
            else [("l_brow", 0.0, -1.0, 0.06)],  # AU2 unilateral
            [("l_eye", 0.0, 0.8, 0.03), ("r_eye", 0.0, 0.8, 0.03)],  # AU43 partial closure
        ]
        return options[int(rng.integers(len(options)))]
    raise DatasetError(f"synthetic: unknown class {class_name!r}; choose from {CLASS_NAMES}")


@dataclass(frozen=True)
class Motion:
    """A sampled class motion: bumps and amplitude in px at 224."""

    class_index: int
    bumps: tuple[Bump, ...]
    amplitude_px: float


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


def sample_motion(
    class_index: int,
    rng: np.random.Generator,
    cfg: SyntheticConfig | None = None,
    class_names: Sequence[str] = CLASS_NAMES,
) -> Motion:
    cfg = cfg or SyntheticConfig()
    name = class_names[class_index]
    lo, hi = cfg.amplitude_px
    bumps = tuple(b for b in _class_bumps(name, rng) if b[3] > 0)
    return Motion(class_index, bumps, float(rng.uniform(lo, hi)))


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
    base = _canonical_face(identity, size)
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


# --------------------------------------------------------------------------- the set


class SyntheticSet(MEDataset):
    """In-memory synthetic samples (``Sample.onset_image`` / ``apex_image`` are RGB uint8)."""

    def __init__(
        self,
        samples: list[Sample],
        config: SyntheticConfig,
        identities: dict[str, FaceIdentity],
    ) -> None:
        super().__init__(samples, CLASS_NAMES, "synthetic", None, "5class")
        self.config = config
        self.identities = identities


def subject_name(index: int) -> str:
    return f"sub{index + 1:02d}"


def generate_synthetic(cfg: SyntheticConfig | None = None) -> SyntheticSet:
    """Draw the whole set (deterministic from ``cfg.seed``)."""
    cfg = cfg or SyntheticConfig()
    samples: list[Sample] = []
    identities: dict[str, FaceIdentity] = {}
    for si in range(cfg.subjects):
        subject = subject_name(si)
        identity = random_identity(np.random.default_rng([cfg.seed, si]))
        identities[subject] = identity
        for ci, cname in enumerate(CLASS_NAMES):
            for k in range(cfg.samples_per_class):
                rng = np.random.default_rng([cfg.seed, si, ci + 1, k])
                onset, apex = make_pair(identity, ci, rng, cfg.image_size, cfg)
                samples.append(
                    Sample(
                        subject=subject,
                        clip_id=f"EP{ci + 1:02d}_{k + 1:02d}s",
                        onset_path=None,
                        apex_path=None,
                        label=ci,
                        label_name=cname,
                        dataset="synthetic",
                        aus=CLASS_AUS[cname],
                        emotion=cname,
                        onset_image=onset,
                        apex_image=apex,
                    )
                )
        _canonical_face.cache_clear()
    return SyntheticSet(samples, cfg, identities)


CASME2_SPREADSHEET = "CASME2-coding-20190701.xlsx"
CASME2_HEADER = (
    "Subject",
    "Filename",
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    "Action Units",
    "Estimated Emotion",
)


def write_casme2_layout(
    data: SyntheticSet | SyntheticConfig,
    root: Path | str,
    frame_dir: str = "CASME2_RAW_selected",
    jpeg_quality: int = 98,
) -> Path:
    """Write the set as ``root/CASME2_RAW_selected/subNN/EPxx_yy/img<n>.jpg`` plus
    ``root/CASME2-coding-20190701.xlsx`` (the official CASME II layout); returns ``root``.

    Only the onset and apex frames are written (no intermediate frames), so temporal
    jitter is not exercised by this layout.
    """
    import openpyxl

    ds = generate_synthetic(data) if isinstance(data, SyntheticConfig) else data
    root = Path(root)
    frames_root = root / frame_dir
    frames_root.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(list(CASME2_HEADER))
    params = [int(cv2.IMWRITE_JPEG_QUALITY), int(jpeg_quality)]
    if hasattr(cv2, "IMWRITE_JPEG_SAMPLING_FACTOR"):  # 4:4:4, keep colour edges sharp
        params += [int(cv2.IMWRITE_JPEG_SAMPLING_FACTOR), int(cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444)]
    for i, s in enumerate(ds):
        onset_no = 10 + (i % 7) * 3
        apex_no = onset_no + 6
        clip_dir = frames_root / s.subject / s.clip_id
        clip_dir.mkdir(parents=True, exist_ok=True)
        onset, apex = s.load_pair()
        for no, img in ((onset_no, onset), (apex_no, apex)):
            if not cv2.imwrite(str(clip_dir / f"img{no}.jpg"), img[:, :, ::-1], params):
                raise DatasetError(f"cannot write {clip_dir / f'img{no}.jpg'}")
        subject_no = s.subject.removeprefix("sub")
        ws.append([subject_no, s.clip_id, onset_no, apex_no, apex_no + 6, s.aus, s.label_name])
    wb.save(root / CASME2_SPREADSHEET)
    return root


__all__ = [
    "CLASS_NAMES",
    "FaceIdentity",
    "Motion",
    "SyntheticConfig",
    "SyntheticSet",
    "generate_synthetic",
    "make_clip",
    "make_pair",
    "random_identity",
    "render_face",
    "sample_motion",
    "write_casme2_layout",
]
