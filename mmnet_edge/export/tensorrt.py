"""TensorRT engines that build on TensorRT 8.6 (JetPack 5), 10.x (JetPack 6, desktop) and 11.x.

TensorRT's precision API split in two:

* ≤ 10.x: FP16/INT8 via builder flags (``BuilderFlag.FP16``/``INT8``); INT8 from Q/DQ
  nodes (explicit) or an implicit calibrator (deprecated since 10.1).
* ≥ 10.0 also offers *strongly typed* networks (``NetworkDefinitionCreationFlag.
  STRONGLY_TYPED``): precision comes from the ONNX itself (FP16 tensors, Q/DQ nodes).
  TensorRT 11 removed the precision flags and calibrators: strongly typed only.

Which path is used is decided by feature detection on the real module (``hasattr``),
never by comparing version strings. The engine is a plain ``.engine`` file (loadable by
``trtexec``) with a ``.engine.json`` sidecar describing how and where it was built.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmnet_edge.checkpoint import file_sha256
from mmnet_edge.errors import BackendUnavailableError, EngineCompatibilityError, ExportError
from mmnet_edge.export.onnx import INPUT_NAMES, read_onnx_metadata

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")


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


def import_tensorrt() -> Any:
    """``import tensorrt`` or a BackendUnavailableError saying how to get it."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendUnavailableError(
            "TensorRT is not installed here. Install the extra (`pip install "
            "'mmnet-edge[tensorrt]'`) on a machine with an NVIDIA GPU, or build the engine on "
            "the target itself (on Jetson TensorRT comes with JetPack): copy the ONNX files "
            "there and run `mmnet-edge export model.onnx --fp16` (or trtexec)."
        ) from exc
    return trt


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


def gpu_facts() -> dict[str, Any]:
    """Name and compute capability of CUDA device 0 (cuda-python, torch or nvidia-smi)."""
    try:
        import torch

        if torch.cuda.is_available():
            major, minor = torch.cuda.get_device_capability(0)
            return {
                "name": torch.cuda.get_device_name(0),
                "compute_capability": f"{major}.{minor}",
                "cuda": torch.version.cuda,
            }
    except ImportError:
        pass
    from mmnet_edge.doctor import gpu_facts as smi

    rows = smi()
    if rows:
        name, driver, cc = [p.strip() for p in rows[0].split(",")][:3]
        return {"name": name, "compute_capability": cc, "driver": driver}
    return {}


def jetson_release() -> dict[str, str]:
    from mmnet_edge.doctor import jetson_facts

    return jetson_facts()


def timing_cache_path(directory: Path, onnx_sha: str, trt_version: str, gpu: dict) -> Path:
    """Content-addressed cache file: ONNX hash + TensorRT version + GPU."""
    key = f"{onnx_sha}|{trt_version}|{gpu.get('name')}|{gpu.get('compute_capability')}"
    return directory / f"mmnet-{hashlib.sha256(key.encode()).hexdigest()[:24]}.timing"


def choose_onnx_for_precision(onnx_fp32: Path, precision: str) -> Path:
    """The ONNX variant a strongly typed build needs (fp16 → model.fp16.onnx, …)."""
    from mmnet_edge.runtime.loader import onnx_variant_path

    try:
        return onnx_variant_path(onnx_fp32, precision, device="cuda")
    except Exception as exc:  # noqa: BLE001
        raise ExportError(str(exc)) from exc


@dataclass
class EngineResult:
    path: Path
    sidecar: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def build_engine(
    onnx_fp32: Path,
    output: Path,
    options: EngineOptions,
    calibrator: Any = None,
) -> EngineResult:
    """Build a TensorRT engine from the exported ONNX files.

    ``onnx_fp32`` is ``model.onnx``; FP16/INT8 strongly typed builds read the sibling
    ``model.fp16.onnx`` / ``model.int8.onnx``. ``calibrator`` (TensorRT ≤ 10.x only) selects
    the deprecated implicit INT8 path on the FP32 graph.
    """
    options.validate()
    trt = import_tensorrt()
    feats = detect_features(trt)
    gpu = gpu_facts()
    if not gpu:
        raise BackendUnavailableError(
            "TensorRT is installed but no CUDA device is visible: build the engine on the "
            "machine that will run it (engines are specific to the GPU and TensorRT version)"
        )
    t0 = time.perf_counter()
    strongly = (
        options.strongly_typed if options.strongly_typed is not None else feats.strongly_typed
    )
    if strongly and not feats.strongly_typed:
        raise ExportError(f"TensorRT {feats.version} has no strongly typed networks (needs ≥ 10)")
    if not strongly and not feats.precision_flags and options.precision != "fp32":
        raise ExportError(f"TensorRT {feats.version} has no precision flags; use strongly typed")
    if calibrator is not None:
        if not feats.implicit_calibrators:
            raise ExportError(
                f"TensorRT {feats.version} removed implicit INT8 calibrators: use the Q/DQ model "
                "(`mmnet-edge export --int8 --calib CALIB.npz`)"
            )
        strongly = False
    source = onnx_fp32
    if strongly or (options.precision == "int8" and calibrator is None):
        source = choose_onnx_for_precision(onnx_fp32, options.precision)

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if feats.explicit_batch_flag:  # required on 8.x, a deprecated no-op on 10.x, gone in 11
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    if strongly and feats.strongly_typed:
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(source)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"TensorRT's ONNX parser rejected {source.name}: {errors}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mib << 20)
    if feats.precision_flags and not strongly and options.precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)  # INT8 builds fall back to FP16, not FP32
        if options.precision == "int8":
            config.set_flag(trt.BuilderFlag.INT8)
    if feats.implicit_calibrators and calibrator is not None:
        config.int8_calibrator = calibrator  # deprecated since 10.1, removed in 11
    if options.builder_optimization_level is not None:
        if not feats.optimization_level:
            raise ExportError(f"TensorRT {feats.version} has no builder optimization level")
        config.builder_optimization_level = options.builder_optimization_level
    if options.dla_core is not None:
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = options.dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    if options.hardware_compatibility:
        if not feats.hardware_compatibility:
            raise ExportError(f"TensorRT {feats.version} has no hardware compatibility levels")
        level = options.hardware_compatibility.upper()
        config.hardware_compatibility_level = getattr(trt.HardwareCompatibilityLevel, level)
    if options.version_compatible:
        if not feats.version_compatible:
            raise ExportError(f"TensorRT {feats.version} cannot build version-compatible engines")
        config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)

    meta = read_onnx_metadata(onnx_fp32)
    s = meta.input_size
    profile = builder.create_optimization_profile()
    lo, opt, hi = options.batch
    for name in INPUT_NAMES:
        profile.set_shape(name, (lo, 3, s, s), (opt, 3, s, s), (hi, 3, s, s))
    config.add_optimization_profile(profile)

    onnx_sha = file_sha256(source)
    cache_file = None
    if options.timing_cache_dir is not None:
        options.timing_cache_dir.mkdir(parents=True, exist_ok=True)
        cache_file = timing_cache_path(options.timing_cache_dir, onnx_sha, feats.version, gpu)
        blob = cache_file.read_bytes() if cache_file.exists() else b""
        config.set_timing_cache(config.create_timing_cache(blob), False)

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ExportError("TensorRT failed to build the engine (see the TensorRT log above)")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(bytes(serialized))
    if cache_file is not None:
        cache_file.write_bytes(bytes(config.get_timing_cache().serialize()))

    meta.precision = options.precision
    manifest = {
        "format": "mmnet-edge-engine/1",
        "tensorrt_version": feats.version,
        "strongly_typed": strongly,
        "implicit_int8_calibrator": calibrator is not None,
        "gpu": gpu,
        "jetson": jetson_release(),
        "host": platform.node(),
        "precision": options.precision,
        "profile": {"min": lo, "opt": opt, "max": hi},
        "dla_core": options.dla_core,
        "hardware_compatibility": options.hardware_compatibility,
        "version_compatible": options.version_compatible,
        "onnx": source.name,
        "onnx_sha256": onnx_sha,
        "engine_sha256": file_sha256(output),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()},
        "metadata": meta.to_dict(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    sidecar = sidecar_path(output)
    sidecar.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return EngineResult(output, sidecar, manifest, time.perf_counter() - t0)


def sidecar_path(engine: Path) -> Path:
    return engine.with_name(engine.name + ".json")


def read_sidecar(engine: Path | str) -> dict[str, Any]:
    engine = Path(engine)
    side = sidecar_path(engine)
    if not side.is_file():
        raise EngineCompatibilityError(
            f"{engine}: sidecar {side.name} is missing; mmnet-edge needs it for class names and "
            "preprocessing. Rebuild with `mmnet-edge export`, or copy the .engine.json with it"
        )
    try:
        return json.loads(side.read_text())
    except json.JSONDecodeError as exc:
        raise EngineCompatibilityError(f"{side} is not valid JSON: {exc}") from exc


def check_engine_compatibility(
    manifest: dict[str, Any], trt_version: str, gpu: dict[str, Any]
) -> None:
    """Refuse an engine built for another TensorRT version or GPU, saying what to do."""
    built = str(manifest.get("tensorrt_version", "?"))
    if built != trt_version and not manifest.get("version_compatible"):
        raise EngineCompatibilityError(
            f"engine built with TensorRT {built}, this machine has {trt_version}: rebuild it "
            "here with `mmnet-edge export` (or build with --version-compatible)"
        )
    want = str(manifest.get("gpu", {}).get("compute_capability", ""))
    have = str(gpu.get("compute_capability", ""))
    if want and have and want != have:
        hw = str(manifest.get("hardware_compatibility") or "").lower()
        if not (hw == "ampere_plus" and float(have) >= 8.0):
            raise EngineCompatibilityError(
                f"engine built for a GPU of compute capability {want} "
                f"({manifest.get('gpu', {}).get('name')}), this GPU is {have} "
                f"({gpu.get('name')}): rebuild the engine on this GPU"
            )


def describe_engine(path: Path | str) -> dict[str, Any]:
    """Summary for ``mmnet-edge info`` (from the sidecar; TensorRT not needed)."""
    path = Path(path)
    if not path.is_file():
        raise EngineCompatibilityError(f"engine not found: {path}")
    m = read_sidecar(path)
    meta = m.get("metadata", {})
    return {
        "kind": "tensorrt-engine",
        "path": str(path),
        "size_bytes": path.stat().st_size,
        "sha256": file_sha256(path),
        "sha256_matches_sidecar": file_sha256(path) == m.get("engine_sha256"),
        **{
            k: m.get(k)
            for k in (
                "tensorrt_version",
                "gpu",
                "jetson",
                "precision",
                "profile",
                "dla_core",
                "strongly_typed",
                "onnx_sha256",
                "built_at",
            )
        },
        "class_names": meta.get("class_names"),
        "input_size": meta.get("input_size"),
    }


def validate_engine(engine: Path, reference_onnx: Path, min_agreement: float = 0.97) -> Any:
    """Compare an engine with ONNX Runtime (FP32) on held-out synthetic pairs (GPU only)."""
    from mmnet_edge.export.precision import AgreementReport, heldout_inputs, softmax
    from mmnet_edge.runtime.loader import open_runner

    meta = read_onnx_metadata(reference_onnx)
    inputs = heldout_inputs(meta.input_size, meta.mean, meta.std)
    with (
        open_runner(engine, backend="tensorrt") as trt_r,
        open_runner(reference_onnx, backend="onnxruntime", device="cpu") as ort_r,
    ):
        refs, gots = [], []
        for on, ap in inputs:
            for i in range(0, on.shape[0], trt_r.max_batch or 1):
                sl = slice(i, i + (trt_r.max_batch or 1))
                refs.append(ort_r.run(on[sl], ap[sl]))
                gots.append(trt_r.run(on[sl], ap[sl]))
    import numpy as np

    r, g = np.concatenate(refs), np.concatenate(gots)
    perr = np.abs(softmax(r.astype(np.float64)) - softmax(g.astype(np.float64))).max(-1)
    rep = AgreementReport(
        int(r.shape[0]),
        float((r.argmax(-1) == g.argmax(-1)).mean()),
        float(perr.max()),
        float(perr.mean()),
        float(np.abs(r - g).max()),
    )
    if rep.top1_agreement < min_agreement:
        from mmnet_edge.errors import ValidationError

        raise ValidationError(
            f"{engine.name} agrees with ONNX Runtime on only {rep.top1_agreement:.1%} of held-out "
            f"pairs (bar {min_agreement:.0%}); try --fp32 or a better calibration set"
        )
    return rep
