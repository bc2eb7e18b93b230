"""Procedural face renderer: random identities and their neutral, frontal face."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np


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


def _pt(x: float, y: float, size: int) -> tuple[int, int]:
    s = 16  # cv2 sub-pixel drawing: shift=4
    return int(round(x * size * s)), int(round(y * size * s))


@functools.lru_cache(maxsize=64)
def canonical_face(identity: FaceIdentity, size: int) -> np.ndarray:
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


__all__ = ["FaceIdentity", "canonical_face", "random_identity"]
