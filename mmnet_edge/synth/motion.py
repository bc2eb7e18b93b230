"""Motion model: AU-like, class-specific displacement bumps at face landmarks.

A motion is a list of gaussian displacement bumps ``(landmark, dx, dy, sigma)`` (unit
coordinates) scaled by an amplitude in px at 224 px; see :mod:`mmnet_edge.data.synthetic`
for the class ↔ action-unit table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mmnet_edge.errors import DatasetError
from mmnet_edge.synth.config import CLASS_NAMES, SyntheticConfig

CLASS_AUS: dict[str, str] = {
    "happiness": "6+12",
    "disgust": "4+9",
    "repression": "14+15",
    "surprise": "1+2+5",
    "others": "7|17|24|R2|43",
}

# (landmark, dx_unit, dy_unit, sigma_unit); displacement = amplitude * (dx, dy)
Bump = tuple[str, float, float, float]


def class_bumps(class_name: str, rng: np.random.Generator) -> list[Bump]:
    """The bumps of ``class_name`` (``others`` draws one of five AUs from ``rng``)."""
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


def sample_motion(
    class_index: int,
    rng: np.random.Generator,
    cfg: SyntheticConfig | None = None,
    class_names: Sequence[str] = CLASS_NAMES,
) -> Motion:
    """Draw a motion of class ``class_index``: its bumps and an amplitude in ``cfg``'s range."""
    cfg = cfg or SyntheticConfig()
    name = class_names[class_index]
    lo, hi = cfg.amplitude_px
    bumps = tuple(b for b in class_bumps(name, rng) if b[3] > 0)
    return Motion(class_index, bumps, float(rng.uniform(lo, hi)))


__all__ = ["CLASS_AUS", "Bump", "Motion", "class_bumps", "sample_motion"]
