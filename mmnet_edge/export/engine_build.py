"""Build a TensorRT engine from the exported ONNX files (+ its ``.engine.json`` sidecar)."""

from __future__ import annotations

import hashlib
import logging
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mmnet_edge.artifacts.files import atomic_write_bytes
from mmnet_edge.artifacts.formats import INPUT_NAMES, resolve_onnx_variant
from mmnet_edge.artifacts.manifests import EngineManifest
from mmnet_edge.artifacts.metadata_io import file_sha256, read_onnx_metadata
from mmnet_edge.artifacts.platform import (
    gpu_facts,
    import_tensorrt,
    jetson_facts,
    select_device,
    trt_create,
)
from mmnet_edge.errors import BackendUnavailableError, ExportError
from mmnet_edge.export.engine_options import (
    EngineOptions,
    TensorRTFeatures,
    check_dla_request,
    detect_features,
)

log = logging.getLogger(__name__)


def timing_cache_path(directory: Path, onnx_sha: str, trt_version: str, gpu: dict) -> Path:
    """Content-addressed cache file: ONNX hash + TensorRT version + GPU."""
    key = f"{onnx_sha}|{trt_version}|{gpu.get('name')}|{gpu.get('compute_capability')}"
    return directory / f"mmnet-{hashlib.sha256(key.encode()).hexdigest()[:24]}.timing"


def choose_onnx_for_precision(onnx_fp32: Path, precision: str) -> Path:
    """The ONNX variant a strongly typed build needs (fp16 → model.fp16.onnx, …); an INT8
    file quantized for another target than its name says (a CPU-target file copied to
    ``model.int8.onnx``) is refused before TensorRT sees it."""
    from mmnet_edge.runtime.ort_runner import check_int8_target

    try:
        path = resolve_onnx_variant(onnx_fp32, precision, target="gpu")
        check_int8_target(path, read_onnx_metadata(path))
    except Exception as exc:  # noqa: BLE001
        raise ExportError(str(exc)) from exc
    return path


@dataclass
class EngineResult:
    path: Path
    sidecar: Path
    manifest: EngineManifest | None = None
    seconds: float = 0.0


def count_dla_layers(layer_info: str) -> int:
    """Layers an engine runs on the DLA, from ``IEngineInspector.get_engine_information(
    LayerInformationFormat.JSON)``.

    With ``ProfilingVerbosity.DETAILED`` each layer is an object whose ``LayerType`` names
    the DLA for DLA subgraphs; with names only, DLA subgraphs are ``{ForeignNode[...]}``
    layers framed by ``… to nvm`` / ``… from nvm`` transfers (trtexec's layer list of a DLA
    engine; a GPU Myelin ForeignNode has no such transfers). One fused DLA subgraph counts
    as one layer.
    """
    import json

    try:
        layers = json.loads(layer_info).get("Layers", [])
    except (ValueError, AttributeError):
        return 0
    typed = [lay for lay in layers if isinstance(lay, dict) and "LayerType" in lay]
    if typed:
        return sum("dla" in str(lay["LayerType"]).lower() for lay in typed)
    names = [str(lay.get("Name", "")) if isinstance(lay, dict) else str(lay) for lay in layers]
    if not any(n.endswith((" to nvm", " from nvm")) for n in names):
        return 0
    return sum(n.startswith("{ForeignNode[") for n in names)


def _inspect_dla(trt: Any, logger: Any, serialized: Any, dla_core: int) -> int:
    """Deserialize the fresh engine on ``dla_core`` and count its DLA layers."""
    runtime = trt_create("a runtime", trt.Runtime, logger)
    runtime.DLA_core = dla_core
    engine = runtime.deserialize_cuda_engine(bytes(serialized))
    if engine is None:
        raise ExportError("TensorRT could not deserialize the DLA engine it just built")
    inspector = engine.create_engine_inspector()
    info = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
    return count_dla_layers(str(info))


def build_engine(
    onnx_fp32: Path,
    output: Path,
    options: EngineOptions,
    calibrator: Any = None,
    *,
    tensorrt: Any = None,
    cudart: Any = None,
) -> EngineResult:
    """Build a TensorRT engine from the exported ONNX files.

    ``onnx_fp32`` is ``model.onnx``; FP16/INT8 strongly typed builds read the sibling
    ``model.fp16.onnx`` / ``model.int8.onnx``. ``calibrator`` (TensorRT ≤ 10.x only) selects
    the deprecated implicit INT8 path on the FP32 graph; its batch must be the profile's opt
    batch (:func:`mmnet_edge.calibration.legacy.make_entropy_calibrator` does that).
    DLA builds (``options.dla_core``) are weakly typed FP16 (INT8 only with a calibrator),
    refused where TensorRT has no DLA, and fail when no layer ends up on the DLA.
    ``tensorrt`` / ``cudart`` may be injected (lifecycle tests); by default the installed
    ``tensorrt`` and cuda-python are used.
    """
    options.validate()
    trt = tensorrt if tensorrt is not None else import_tensorrt()
    feats = detect_features(trt)
    gpu = gpu_facts(options.device, cudart=cudart)
    if not gpu:
        raise BackendUnavailableError(
            f"TensorRT is installed but CUDA device {options.device} is not visible (cuda-python "
            "found none): build the engine on the machine that will run it (engines are "
            "specific to the GPU and the TensorRT version)"
        )
    if options.hardware_compatibility and gpu.get("integrated"):
        raise ExportError(
            f"--hardware-compatibility {options.hardware_compatibility} is for discrete GPUs; "
            f"{gpu.get('name')} is integrated (Jetson): build without it, on the device"
        )
    select_device(options.device, cudart=cudart)
    t0 = time.perf_counter()
    strongly = _typing(feats, options, calibrator)
    source = onnx_fp32
    if strongly or (options.precision == "int8" and calibrator is None):
        source = choose_onnx_for_precision(onnx_fp32, options.precision)

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt_create("a builder", trt.Builder, logger)
    if options.dla_core is not None and options.dla_core >= int(builder.num_DLA_cores):
        raise ExportError(
            f"DLA core {options.dla_core} requested, {gpu.get('name')} has "
            f"{builder.num_DLA_cores} DLA core(s) (Orin Nano and desktop GPUs have none): "
            "drop --dla-core"
        )
    flags = 0
    if feats.explicit_batch_flag:  # required on 8.x, a deprecated no-op on 10.x, gone in 11
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    if strongly and feats.strongly_typed:
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = trt_create("a network", builder.create_network, flags, error=ExportError)
    parser = trt_create("an ONNX parser", trt.OnnxParser, network, logger, error=ExportError)
    if not parser.parse_from_file(str(source)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"TensorRT's ONNX parser rejected {source.name}: {errors}")

    config = trt_create("a builder config", builder.create_builder_config, error=ExportError)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mib << 20)
    if feats.precision_flags and not strongly and options.precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)  # INT8 builds fall back to FP16, not FP32
        if options.precision == "int8":
            config.set_flag(trt.BuilderFlag.INT8)
    if options.builder_optimization_level is not None:
        if not feats.optimization_level:
            raise ExportError(f"TensorRT {feats.version} has no builder optimization level")
        config.builder_optimization_level = options.builder_optimization_level
    if options.dla_core is not None:
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = options.dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # inspector layer types
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
    profile = trt_create(
        "an optimization profile", builder.create_optimization_profile, error=ExportError
    )
    lo, opt, hi = options.batch
    for name in INPUT_NAMES:
        profile.set_shape(name, (lo, 3, s, s), (opt, 3, s, s), (hi, 3, s, s))
    config.add_optimization_profile(profile)
    if feats.implicit_calibrators and calibrator is not None:
        _check_calibrator_batch(calibrator, opt)
        config.int8_calibrator = calibrator  # deprecated since 10.1, removed in 11
        config.set_calibration_profile(profile)  # required with dynamic shapes

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
    dla_layers = None
    if options.dla_core is not None:
        dla_layers = _inspect_dla(trt, logger, serialized, options.dla_core)
        if dla_layers == 0:
            raise ExportError(
                f"no layer of {source.name} runs on DLA core {options.dla_core} (everything "
                "fell back to the GPU): this would be a slower GPU engine; build without "
                "--dla-core"
            )
        log.info("%d layer(s) run on DLA core %d", dla_layers, options.dla_core)
    output = Path(output)
    atomic_write_bytes(output, bytes(serialized))
    if cache_file is not None:
        atomic_write_bytes(cache_file, bytes(config.get_timing_cache().serialize()))

    meta.precision = options.precision
    manifest = EngineManifest(
        tensorrt_version=feats.version,
        precision=options.precision,
        metadata=meta.to_dict(),
        profile={"min": lo, "opt": opt, "max": hi},
        strongly_typed=strongly,
        implicit_int8_calibrator=calibrator is not None,
        gpu=gpu,
        jetson=jetson_facts(),
        host=platform.node(),
        dla_core=options.dla_core,
        dla_layers=dla_layers,
        hardware_compatibility=options.hardware_compatibility,
        version_compatible=options.version_compatible,
        onnx=source.name,
        onnx_sha256=onnx_sha,
        engine_sha256=file_sha256(output),
        options={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()},
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    sidecar = manifest.write(output)
    return EngineResult(output, sidecar, manifest, time.perf_counter() - t0)


def _typing(feats: TensorRTFeatures, options: EngineOptions, calibrator: Any) -> bool:
    """Strongly typed (precision from the ONNX) or weakly typed (builder flags)?"""
    if options.dla_core is not None:
        check_dla_request(feats, options, calibrator)
        return False  # DLA: weakly typed FP16 (INT8 through a calibrator) on TensorRT ≤ 10
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
        if options.precision != "int8":
            raise ExportError("a calibrator is for INT8 builds; pass precision='int8'")
        strongly = False
    return strongly


def _check_calibrator_batch(calibrator: Any, opt: int) -> None:
    batch = int(calibrator.get_batch_size())
    if batch != opt:
        raise ExportError(
            f"the calibrator feeds batches of {batch}, the calibration profile's opt batch is "
            f"{opt}: make it with make_entropy_calibrator(..., profile=options.batch)"
        )
