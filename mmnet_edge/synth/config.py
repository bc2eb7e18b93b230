"""How synthetic faces and motions are drawn: one frozen config (pixels at 224 px)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from mmnet_edge.errors import DatasetError
from mmnet_edge.metadata import CASME2_CLASSES

CLASS_NAMES: tuple[str, ...] = CASME2_CLASSES
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


__all__ = ["CLASS_NAMES", "REFERENCE_SIZE", "SyntheticConfig"]
