"""ONNX Runtime backend (CPU; CUDA / TensorRT execution providers with onnxruntime-gpu).

Class names, input size and normalisation come from the model's ``metadata_props``
(``session.get_modelmeta().custom_metadata_map``), checked against the graph's own input
and output shapes. ``InferenceSession.run`` is thread-safe, so this runner takes no lock.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmnet_edge.artifacts.formats import INPUT_NAMES, INT8_TARGETS_BY_NAME, format_of
from mmnet_edge.errors import BackendUnavailableError, CheckpointError, InputError, MMNetEdgeError
from mmnet_edge.metadata import ModelMetadata, metadata_from_props
from mmnet_edge.runtime.runner import BaseRunner, device_index, normalize_device

GRAPH_OPTIMIZATION = ("disable", "basic", "extended", "all")
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
_NP_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def import_ort() -> Any:
    """``import onnxruntime`` or a BackendUnavailableError naming the package."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendUnavailableError(
            "onnxruntime is not installed: pip install onnxruntime (CPU) or onnxruntime-gpu"
        ) from exc
    return ort


def ort_gpu_providers() -> list[str]:
    """ONNX Runtime GPU execution providers available here (empty on CPU builds or no ORT)."""
    try:
        ort = import_ort()
    except BackendUnavailableError:
        return []
    return [p for p in GPU_PROVIDERS if p in ort.get_available_providers()]


def tensorrt_provider_options(model: Path, precision: str) -> dict[str, str]:
    """Options for ORT's TensorRT execution provider: FP16/INT8 per the file, and engine and
    timing caches next to the model so a session does not rebuild engines for minutes."""
    cache = model.parent / ".ort-trt-cache"
    return {
        "trt_fp16_enable": "True" if precision in ("fp16", "int8") else "False",
        "trt_int8_enable": "True" if precision == "int8" else "False",
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": str(cache),
        "trt_timing_cache_enable": "True",
        "trt_timing_cache_path": str(cache),
    }


def providers_for(
    device: str,
    available: list[str],
    precision: str = "fp32",
    provider_options: dict[str, dict[str, Any]] | None = None,
    model: Path | None = None,
) -> list[Any]:
    """Execution providers (with options) in preference order for ``device``."""
    if not device.startswith("cuda"):
        return ["CPUExecutionProvider"]
    wanted = [p for p in GPU_PROVIDERS if p in available]
    if not wanted:
        raise BackendUnavailableError(
            "onnxruntime has no CUDA provider here (providers: "
            f"{', '.join(available)}); pip install onnxruntime-gpu, or use device='cpu'"
        )
    dev_id = str(device_index(device))
    user = provider_options or {}
    out: list[Any] = []
    for p in wanted:
        opts: dict[str, Any] = {"device_id": dev_id}
        if p == "TensorrtExecutionProvider":
            opts.update(tensorrt_provider_options(model or Path("."), precision))
        opts.update(user.get(p, {}))
        out.append((p, opts))
    return [*out, "CPUExecutionProvider"]


#: ``spin`` values: "off" (workers sleep as soon as they run out of work), "call" (they spin
#: inside a call and stop when it returns: the default), "always" (ORT's own default: they
#: keep spinning for a while after each call, burning the cores)
SPIN_MODES = ("off", "call", "always")


def spin_mode(spin: bool | str) -> str:
    """One of :data:`SPIN_MODES` from ``spin`` (True → "always", False → "off")."""
    if isinstance(spin, bool):
        return "always" if spin else "off"
    if spin not in SPIN_MODES:
        raise InputError(f"spin must be one of {SPIN_MODES} (or a bool), not {spin!r}")
    return spin


def session_options(
    ort: Any,
    threads: int | None = None,
    inter_threads: int | None = None,
    graph_optimization: str = "all",
    spin: bool | str = "call",
) -> Any:
    """ORT ``SessionOptions`` from the runner's knobs (``spin``: :data:`SPIN_MODES`)."""
    if graph_optimization not in GRAPH_OPTIMIZATION:
        raise InputError(
            f"graph_optimization must be one of {GRAPH_OPTIMIZATION}, not {graph_optimization!r}"
        )
    for name, value in (("threads", threads), ("inter_threads", inter_threads)):
        if value is not None and int(value) < 0:
            raise InputError(f"{name} must be ≥ 0 (0 = ONNX Runtime's default), not {value}")
    level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[graph_optimization]
    opts = ort.SessionOptions()
    opts.graph_optimization_level = level
    if threads:
        opts.intra_op_num_threads = int(threads)
    if inter_threads:
        opts.inter_op_num_threads = int(inter_threads)
    mode = spin_mode(spin)
    # ORT's workers busy-wait by default, also between calls: on a small CPU shared with
    # alignment, other models or a robot stack that steals cores from everyone else. "call"
    # lets them spin inside a call (the many small ops of an INT8 graph wake no sleeping
    # thread) and stops them when the call returns (docs/calibration.md, "Worker spinning").
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0" if mode == "off" else "1")
    if mode == "call":
        opts.add_session_config_entry("session.force_spinning_stop", "1")
    opts.log_severity_level = 3  # errors only: provider fallback chatter is not for users
    return opts


def check_graph_against_metadata(
    inputs: dict[str, tuple[str, list[Any]]],
    outputs: dict[str, tuple[str, list[Any]]],
    meta: ModelMetadata,
    source: str,
) -> None:
    """The graph's I/O must be what its metadata promises (names, input size, classes)."""
    fix = "re-export it with `mmnet-edge export`"
    if sorted(inputs) != sorted(INPUT_NAMES):
        raise CheckpointError(f"{source}: inputs {sorted(inputs)}, expected onset and apex; {fix}")
    s = meta.input_size
    for name, (_, shape) in inputs.items():
        dims = list(shape)
        if len(dims) != 4 or any(
            isinstance(d, int) and d != want for d, want in zip(dims[1:], (3, s, s))
        ):
            raise CheckpointError(
                f"{source}: input {name!r} has shape {dims}, but its metadata says N×3×{s}×{s}; "
                f"{fix}"
            )
    if len(outputs) != 1:
        raise CheckpointError(f"{source}: {len(outputs)} outputs, expected one logits output")
    ((_, oshape),) = outputs.values()
    width = oshape[-1] if oshape else None
    if isinstance(width, int) and width != meta.config.num_classes:
        raise CheckpointError(
            f"{source}: the model outputs {width} classes but its metadata names "
            f"{meta.config.num_classes} ({', '.join(meta.class_names)}); {fix}"
        )
    check_int8_target(Path(source), meta)


def check_int8_target(path: Path, meta: ModelMetadata) -> None:
    """An INT8 file named for one target must have been quantized for it (a CPU-target file
    renamed to ``.int8.onnx`` would reach TensorRT with uint8 activations, and the reverse
    runs a CPU backend on the slow layout). Every INT8 file mmnet-edge writes records its
    target; one without the record was not made by its quantizer and is refused."""
    fmt = format_of(path)
    if fmt.precision != "int8":
        return
    recorded = meta.extra.get("int8_target")
    if not recorded:
        raise CheckpointError(
            f"{path.name} records no INT8 target (mmnet-edge's quantizer always does): "
            "re-export it from the FP32 model with `mmnet-edge export MODEL.onnx --int8`"
        )
    if recorded == fmt.target:
        return
    right = INT8_TARGETS_BY_NAME.get(str(recorded))
    rename = f" or rename it to {right.path_for(path).name}" if right else ""
    raise CheckpointError(
        f"{path.name} is named for the {fmt.target} INT8 target but was quantized for the "
        f"{recorded} target; re-export it with `mmnet-edge export --int8`{rename}"
    )


#: graph optimizers switched off for an INT8 model on the CPU: the NCHWc layout pass only
#: touches the few float convolutions left (the stem, the attention's 2→1 convs) and adds
#: NCHWc→NCHW reorders around them; without it the CPU-target paper model ran ≈ 4 % faster
#: (11.64 vs 12.07 ms, 2 threads, AVX-512 VNNI: docs/calibration.md)
INT8_CPU_DISABLED_OPTIMIZERS: tuple[str, ...] = ("NchwcTransformer",)


def disabled_optimizers(precision: str, device: str, nchwc: bool | None) -> list[str]:
    """ONNX Runtime optimizers to switch off: ``nchwc`` None → off for INT8 on the CPU."""
    if nchwc is None:
        nchwc = not (precision == "int8" and device == "cpu")
    return [] if nchwc else list(INT8_CPU_DISABLED_OPTIMIZERS)


class OrtRunner(BaseRunner):
    """An exported ``.onnx`` (any precision variant) on ONNX Runtime.

    ``threads``: intra-op threads (default: ORT's, one per physical core);
    ``inter_threads``; ``graph_optimization``: disable/basic/extended/all (default all);
    ``spin``: worker threads' busy-waiting, :data:`SPIN_MODES` (default "call": inside a call
    only, stopped when it returns — lower latency, no cores burnt between calls);
    ``nchwc``: ONNX Runtime's NCHWc layout pass for float convolutions (default: on, except
    for INT8 models on the CPU — :data:`INT8_CPU_DISABLED_OPTIMIZERS`);
    ``provider_options``: extra options per execution provider name.
    """

    backend: ClassVar[str] = "onnxruntime"
    display_name: ClassVar[str] = "ONNX Runtime"
    containers: ClassVar[tuple[str, ...]] = ("onnx",)
    devices: ClassVar[tuple[str, ...]] = ("cpu", "cuda")
    # FP16 on ORT CPU is emulated (validation only, not speed)
    precisions: ClassVar[dict[str, tuple[str, ...]]] = {
        "cpu": ("fp32", "int8"),
        "cuda": ("fp32", "fp16", "int8"),
    }
    unsupported_notes: ClassVar[dict[tuple[str, str], str]] = {
        ("fp16", "cpu"): "FP16 on ONNX Runtime CPU is emulated (validation only, not speed)",
        ("bf16", "cpu"): "ONNX Runtime's CPU provider has no bf16 path for this model: run bf16 "
        "on OpenVINO (backend='openvino') or torch",
        ("bf16", "cuda"): "bf16 is a CPU precision here: on a GPU use fp16",
    }
    requires: ClassVar[tuple[tuple[str, ...], ...]] = (("onnxruntime",),)
    extra: ClassVar[str] = ""  # a core dependency

    def __init__(
        self,
        path: str | os.PathLike[str],
        device: str | None = None,
        precision: str | None = None,
        threads: int | None = None,
        inter_threads: int | None = None,
        graph_optimization: str = "all",
        spin: bool | str = "call",
        provider_options: dict[str, dict[str, Any]] | None = None,
        nchwc: bool | None = None,
    ) -> None:
        path = Path(path)
        file_precision = format_of(path).precision
        if precision == "bf16":
            raise BackendUnavailableError(self.supports("bf16", normalize_device(device) or "cpu"))
        if precision is not None and precision != file_precision:
            raise InputError(
                f"{path.name} holds a {file_precision} model, not {precision}; open the "
                f"{precision} variant (open_runner(..., precision={precision!r}) finds it)"
            )
        super().__init__(path, device or "cpu", file_precision)
        self.options = {
            "threads": threads,
            "inter_threads": inter_threads,
            "graph_optimization": graph_optimization,
            "spin": spin_mode(spin),
        }
        self.provider_options = provider_options
        self.nchwc = nchwc
        self.session: Any = None
        self.providers: list[str] = []
        self._max_batch: int | None = None

    def _activate(self) -> None:
        ort = import_ort()
        if not self.path.is_file():
            raise CheckpointError(f"ONNX model not found: {self.path}")
        opts = session_options(ort, **self.options)
        available = list(ort.get_available_providers())
        providers = providers_for(
            self.device, available, self.precision, self.provider_options, self.path
        )
        try:
            session = ort.InferenceSession(
                str(self.path),
                sess_options=opts,
                providers=providers,
                disabled_optimizers=disabled_optimizers(self.precision, self.device, self.nchwc),
            )
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
            raise CheckpointError(
                f"{self.path}: ONNX Runtime cannot load this model ({str(exc)[:300]}); re-export "
                "it with `mmnet-edge export --format onnx`"
            ) from exc
        props = dict(session.get_modelmeta().custom_metadata_map)
        meta = metadata_from_props(props, source=str(self.path))
        inputs = {i.name: (i.type, list(i.shape)) for i in session.get_inputs()}
        outputs = {o.name: (o.type, list(o.shape)) for o in session.get_outputs()}
        check_graph_against_metadata(inputs, outputs, meta, str(self.path))
        self.metadata = meta
        if meta.precision in ("fp32", "fp16", "int8"):
            self.precision = meta.precision  # the file's own record wins over its name
        self.session = session
        self._in_dtype = {n: _NP_DTYPES.get(t, np.float32) for n, (t, _) in inputs.items()}
        self._output = next(iter(outputs))
        batch_dim = inputs[INPUT_NAMES[0]][1][0]
        self._max_batch = batch_dim if isinstance(batch_dim, int) and batch_dim > 0 else None
        self.providers = list(session.get_providers())
        if self.device.startswith("cuda") and not any(p in self.providers for p in GPU_PROVIDERS):
            self.session = None
            raise BackendUnavailableError(
                f"ONNX Runtime could not start a GPU provider for {self.path.name} (active: "
                f"{', '.join(self.providers)}); check the CUDA/cuDNN install or use device='cpu'"
            )

    @property
    def max_batch(self) -> int | None:
        return self._max_batch

    def _run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        feed = {
            name: arr.astype(self._in_dtype[name], copy=False)
            for name, arr in zip(INPUT_NAMES, (onset, apex))
        }
        try:
            (logits,) = self.session.run([self._output], feed)
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own exception types
            raise MMNetEdgeError(
                f"ONNX Runtime failed on {self.path.name} ({str(exc)[:300]}); check the input "
                "batch against the model's shape, or re-export the model"
            ) from exc
        return np.asarray(logits, dtype=np.float32)

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "providers": self.providers,
            "spin": self.options["spin"],
            "disabled_optimizers": disabled_optimizers(self.precision, self.device, self.nchwc),
        }

    def _release(self) -> None:
        self.session = None
