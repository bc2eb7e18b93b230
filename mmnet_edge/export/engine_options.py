"""TensorRT build settings and feature detection (no TensorRT import needed to read them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmnet_edge.artifacts.formats import PRECISIONS
from mmnet_edge.artifacts.platform import version_tuple
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
    device: int = 0  # CUDA device index to build on (its facts go into the sidecar)

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
        if self.dla_core is not None and self.strongly_typed:
            raise ExportError(
                "DLA engines are built weakly typed (FP16 builder flag); drop strongly_typed"
            )
        if self.device < 0 or (self.dla_core is not None and self.dla_core < 0):
            raise ExportError("device and dla_core are indices ≥ 0")


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


#: TensorRT releases with no DLA support on Jetson (first, last), inclusive
NO_DLA_RELEASES = ((11, 0), (11, 4))


def check_dla_request(feats: TensorRTFeatures, options: EngineOptions, calibrator: Any) -> None:
    """Refuse a DLA build this TensorRT cannot make, saying what works instead.

    TensorRT ≤ 10: DLA takes weakly typed networks with the FP16 flag; INT8 only through
    implicit calibration (a calibrator and its cache) — DLA on 8.x does not take explicit
    Q/DQ, so mmnet-edge never sends the Q/DQ model to the DLA. TensorRT 11.0–11.4 has no
    DLA on Jetson at all (and no precision flags or calibrators).
    """
    v = version_tuple(feats.version)[:2]
    if NO_DLA_RELEASES[0] <= v <= NO_DLA_RELEASES[1]:
        raise ExportError(
            f"TensorRT {feats.version} has no DLA support on Jetson (TensorRT 11.0–11.4): "
            "build a GPU engine (drop --dla-core), or use JetPack 6 (TensorRT 10.3) for DLA"
        )
    if not feats.precision_flags:
        raise ExportError(
            f"TensorRT {feats.version} has no FP16/INT8 builder flags; mmnet-edge builds DLA "
            "engines weakly typed (TensorRT ≤ 10): drop --dla-core"
        )
    if options.precision == "int8" and calibrator is None:
        raise ExportError(
            "DLA INT8 needs implicit calibration (a calibrator and its cache; DLA does not take "
            "the explicit Q/DQ model): build with --fp16 for the DLA, or pass "
            "calibrator=make_entropy_calibrator(...) to build_engine"
        )
