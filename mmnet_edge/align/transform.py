"""Similarity transforms for face alignment: the canonical 5-point template, the least-squares
fit (Umeyama), composition, and the fitted crop (:class:`AlignmentTransform`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mmnet_edge.align.detector import Face
from mmnet_edge.errors import InputError

# Canonical 5-point template (ArcFace layout) in a unit square: right eye, left eye,
# nose tip, right and left mouth corners (as seen in the image: subject's right on the left).
TEMPLATE_5 = (
    np.array(
        [
            [38.2946, 51.6963],
            [73.5318, 51.5014],
            [56.0252, 71.7366],
            [41.5493, 92.3655],
            [70.7299, 92.2041],
        ],
        dtype=np.float64,
    )
    / 112.0
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (scale, rotation, translation) mapping ``src`` to ``dst``.

    Closed form (Umeyama, no reflection); returns a 2×3 float64 matrix.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var = (s**2).sum() / len(src)
    if var <= 1e-12:
        raise InputError("landmarks are degenerate (all at one point); cannot fit a transform")
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    fix = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[1, 1] = -1
    rot = u @ fix @ vt
    scale = float((sig * np.diag(fix)).sum() / var)
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def apply_transform(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map N×2 points with a 2×3 affine matrix."""
    pts = np.asarray(pts, np.float64)
    return pts @ np.asarray(m)[:, :2].T + np.asarray(m)[:, 2]


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """2×3 matrix of ``a ∘ b`` (apply ``b`` first)."""
    return (np.vstack([a, [0, 0, 1]]) @ np.vstack([b, [0, 0, 1]]))[:2]


@dataclass
class AlignmentTransform:
    """A fitted crop: 2×3 ``matrix`` (image px → crop px), the ``face`` it came from, size."""

    matrix: np.ndarray
    face: Face | None
    output_size: int

    def landmarks_in_crop(self) -> np.ndarray | None:
        """The face's landmarks in crop pixels (``None`` without landmarks)."""
        if self.face is None or len(self.face.landmarks) == 0:
            return None
        return apply_transform(self.matrix, self.face.landmarks)

    @property
    def scale(self) -> float:
        """Crop pixels per image pixel."""
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))

    @property
    def angle(self) -> float:
        """Rotation applied to the image (degrees, counter-clockwise in image coordinates)."""
        return float(np.degrees(np.arctan2(self.matrix[1, 0], self.matrix[0, 0])))

    def to_dict(self) -> dict[str, Any]:
        return {
            "matrix": np.asarray(self.matrix).tolist(),
            "output_size": self.output_size,
            "box": None if self.face is None else list(self.face.box),
            "landmarks": None if self.face is None else self.face.landmarks.tolist(),
        }
