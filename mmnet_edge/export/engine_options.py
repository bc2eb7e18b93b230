"""TensorRT build settings and feature detection (no TensorRT import needed to read them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmnet_edge.artifacts.formats import PRECISIONS
from mmnet_edge.errors import ExportError


@dataclass
class EngineOptions:
    """Build settings (CLI flags and ``export/profiles/*.toml`` map onto these)."""

    precision: str = "fp16"
    batch: tuple[int, int, int] = (1, 1, 8)  # min, opt, max
    workspace_mib: int = 1024
    timing_cache_dir: Path | None = None
    builder_optimization_level: int | None = None
    dla_core: int | None = None
    hardware_compatibility: str | None = None  # e.g. "ampere_plus"
    version_compatible: bool = False
    strongly_typed: bool | None = None  # None: use it where TensorRT supports it

    def validate(self) -> None:
        if self.precision not in PRECISIONS:
            raise ExportError(f"precision must be one of {PRECISIONS}, not {self.precision!r}")
        lo, opt, hi = self.batch
        if not 1 <= lo <= opt <= hi:
            raise ExportError(f"batch profile must satisfy 1 ≤ min ≤ opt ≤ max, got {self.batch}")
        if self.dla_core is not None and self.precision == "fp32":
            raise ExportError("DLA runs FP16 or INT8 only: add --fp16 or --int8 with --dla-core")
        if self.dla_core is not None and self.hardware_compatibility:
            raise ExportError("--dla-core and --hardware-compatibility cannot be combined")


@dataclass
class TensorRTFeatures:
    """What the installed TensorRT offers, by feature detection."""

    version: str
    strongly_typed: bool
    explicit_batch_flag: bool
    precision_flags: bool  # BuilderFlag.FP16 / INT8 exist (≤ 10.x)
    implicit_calibrators: bool  # IInt8EntropyCalibrator2 exists (≤ 10.x)
    optimization_level: bool
    hardware_compatibility: bool
    version_compatible: bool


def detect_features(trt: Any) -> TensorRTFeatures:
    ncf = trt.NetworkDefinitionCreationFlag
    flags = trt.BuilderFlag
    cfg_cls = trt.IBuilderConfig
    return TensorRTFeatures(
        version=str(trt.__version__),
        strongly_typed=hasattr(ncf, "STRONGLY_TYPED"),
        explicit_batch_flag=hasattr(ncf, "EXPLICIT_BATCH"),
        precision_flags=hasattr(flags, "FP16") and hasattr(flags, "INT8"),
        implicit_calibrators=hasattr(trt, "IInt8EntropyCalibrator2"),
        optimization_level=hasattr(cfg_cls, "builder_optimization_level"),
        hardware_compatibility=hasattr(trt, "HardwareCompatibilityLevel"),
        version_compatible=hasattr(flags, "VERSION_COMPATIBLE"),
    )
