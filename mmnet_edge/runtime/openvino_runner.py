"""OpenVINO backend: an exported ``.onnx`` (FP32, or an INT8 Q/DQ variant) on Intel CPUs,
GPUs and NPUs (the ``[openvino]`` extra; ``openvino`` is imported on activate only).

``openvino.Core().read_model`` reads the ONNX file directly, Q/DQ nodes included (OpenVINO
fuses them into its own int8 kernels). Class names, input size and normalisation come from
the file's ``metadata_props`` (:func:`mmnet_edge.artifacts.read_metadata`), checked against
the graph's inputs and outputs as for ONNX Runtime.

Batch: the exported graph's batch dimension is dynamic and is kept dynamic — one compiled
model serves every batch size (OpenVINO's CPU plugin caches the shape-specific kernels), so
there is no recompilation per batch. ``static_batch=N`` reshapes to a fixed N instead (a
larger batch then raises :class:`InputError`, as a fixed-shape engine does).

Devices: our device strings stay ``cpu`` (host tensors in, host logits out); the OpenVINO
device is ``ov_device``: ``CPU`` (default), ``GPU``/``GPU.N`` (Intel graphics), ``NPU``,
or a virtual device (``AUTO``, ``AUTO:GPU,CPU``, ``MULTI:…``, ``HETERO:…``). A physical
device that ``Core().available_devices`` does not report raises
:class:`BackendUnavailableError` listing the ones it does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmnet_edge.artifacts.formats import FILE_PRECISION, INPUT_NAMES, format_of, int8_formats
from mmnet_edge.errors import BackendUnavailableError, CheckpointError, InputError, MMNetEdgeError
from mmnet_edge.runtime.ort_runner import check_graph_against_metadata
from mmnet_edge.runtime.runner import BaseRunner

HINTS = ("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT")
VIRTUAL_DEVICES = ("AUTO", "MULTI", "HETERO", "BATCH")
INSTALL = "pip install 'mmnet-edge[openvino]'"


def import_openvino() -> Any:
    """``import openvino`` or a BackendUnavailableError naming the extra."""
    try:
        import openvino
    except ImportError as exc:
        raise BackendUnavailableError(f"OpenVINO is not installed: {INSTALL}") from exc
    return openvino


def openvino_devices() -> list[str]:
    """Devices OpenVINO sees here (``CPU``, ``GPU.0``, ``NPU`` …); empty without openvino."""
    try:
        ov = import_openvino()
    except BackendUnavailableError:
        return []
    return list(ov.Core().available_devices)


def check_ov_device(requested: str, available: list[str]) -> str:
    """``requested`` upper-cased if OpenVINO can compile for it here, else why not."""
    dev = requested.strip().upper()
    head = dev.split(":", 1)[0]
    if head in VIRTUAL_DEVICES:
        return dev
    base = dev.split(".", 1)[0]
    if dev in available or (dev == base and any(a.split(".", 1)[0] == base for a in available)):
        return dev
    raise BackendUnavailableError(
        f"OpenVINO does not see a {requested!r} device here (it reports: "
        f"{', '.join(available) or 'none'}); use ov_device='CPU' or 'AUTO', or install the "
        "device's driver (Intel GPU: compute-runtime; NPU: the NPU driver)"
    )


def _dims(partial_shape: Any) -> list[Any]:
    """An OpenVINO PartialShape as a list: ints for static dimensions, '?' for dynamic."""
    return [d.get_length() if d.is_static else "?" for d in partial_shape]


class OpenVinoRunner(BaseRunner):
    """An exported ``.onnx`` (any precision variant) on OpenVINO.

    ``ov_device``: ``CPU`` (default), ``GPU``, ``NPU``, ``AUTO`` …; ``threads``:
    ``INFERENCE_NUM_THREADS`` (CPU; default: OpenVINO's, one per physical core);
    ``hint``: ``PERFORMANCE_HINT``, ``LATENCY`` (default: one request at a time, all cores
    on it) or ``THROUGHPUT`` (several streams; pays off with concurrent requests);
    ``precision``: ``fp32``/``int8`` run the file as exported (the float parts in f32);
    ``bf16`` runs the FP32 file with ``INFERENCE_PRECISION_HINT=bf16`` on CPUs with bf16
    instructions (about 0.5–0.7× the f32 latency of the paper model on a Zen 4, with its
    agreement measured like INT8's: docs/benchmarks.md);
    ``inference_precision``: ``INFERENCE_PRECISION_HINT`` itself (default on the CPU: ``f32``,
    or ``bf16`` for ``precision="bf16"``, so OpenVINO never changes the arithmetic unasked;
    other devices: OpenVINO's default);
    ``static_batch``: compile for a fixed batch instead of a dynamic one;
    ``cache_dir``: OpenVINO's compiled-model cache (saves GPU compile time);
    ``config``: any further OpenVINO properties.
    """

    backend: ClassVar[str] = "openvino"
    display_name: ClassVar[str] = "OpenVINO"
    containers: ClassVar[tuple[str, ...]] = ("onnx",)
    devices: ClassVar[tuple[str, ...]] = ("cpu",)  # host tensors; the OpenVINO device: ov_device
    precisions: ClassVar[dict[str, tuple[str, ...]]] = {"cpu": ("fp32", "bf16", "int8")}
    unsupported_notes: ClassVar[dict[tuple[str, str], str]] = {
        ("fp16", "cpu"): "OpenVINO on a CPU runs an FP16 ONNX in FP32/bf16 (no speed gain); "
        "for Intel GPU/NPU FP16 pass ov_device and inference_precision='f16'",
    }
    #: which INT8 ONNX file this backend loads on a CPU, best first (measured: see
    #: docs/benchmarks.md, "Which INT8 file each CPU backend loads")
    int8_formats: ClassVar[tuple[str, ...]] = int8_formats("openvino")
    requires: ClassVar[tuple[tuple[str, ...], ...]] = (("openvino",),)
    extra: ClassVar[str] = "openvino"
    serialize_runs = True  # one infer request; OpenVINO requests are not re-entrant

    def __init__(
        self,
        path: str | os.PathLike[str],
        device: str | None = None,
        precision: str | None = None,
        threads: int | None = None,
        ov_device: str = "CPU",
        hint: str = "LATENCY",
        inference_precision: str | None = None,
        static_batch: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        path = Path(path)
        file_precision = format_of(path).precision
        if precision is not None and FILE_PRECISION.get(precision, precision) != file_precision:
            raise InputError(
                f"{path.name} holds a {file_precision} model, not {precision}; open the "
                f"{precision} variant (open_runner(..., precision={precision!r}) finds it)"
            )
        hint_bf16 = str(inference_precision or "").lower() == "bf16"
        if precision == "bf16" and inference_precision not in (None, "bf16"):
            raise InputError(
                f"precision='bf16' runs with inference_precision='bf16', not "
                f"{inference_precision!r}; pass one of them"
            )
        if precision == "bf16" or (precision is None and hint_bf16 and file_precision == "fp32"):
            precision, inference_precision = "bf16", "bf16"
        if device is not None and str(device).strip().lower() not in ("cpu",):
            raise InputError(
                f"OpenVINO runs on Intel CPUs, GPUs and NPUs, not on {device!r}: use "
                "device='cpu' and pick the OpenVINO device with ov_device='GPU' / 'NPU' / 'AUTO'"
            )
        hint = hint.strip().upper()
        if hint not in HINTS:
            raise InputError(f"unknown PERFORMANCE_HINT {hint!r}; use one of {', '.join(HINTS)}")
        if threads is not None and threads < 1:
            raise InputError(f"threads must be ≥ 1, not {threads}")
        if static_batch is not None and static_batch < 1:
            raise InputError(f"static_batch must be ≥ 1, not {static_batch}")
        super().__init__(path, "cpu", precision or file_precision)
        self.ov_device = ov_device
        self.options: dict[str, Any] = {
            "threads": threads,
            "hint": hint,
            "inference_precision": inference_precision,
            "static_batch": static_batch,
            "cache_dir": str(cache_dir) if cache_dir else None,
        }
        self.config = dict(config or {})
        self.compiled: Any = None
        self.properties: dict[str, str] = {}
        self._request: Any = None
        self._max_batch: int | None = static_batch

    # ------------------------------------------------------------------ setup
    def _compile_config(self, device: str) -> dict[str, Any]:
        o = self.options
        cfg: dict[str, Any] = {"PERFORMANCE_HINT": o["hint"]}
        on_cpu = device.split(":", 1)[0].split(".", 1)[0] == "CPU"
        if o["threads"] and on_cpu:
            cfg["INFERENCE_NUM_THREADS"] = int(o["threads"])
        precision_hint = o["inference_precision"]
        if precision_hint is None and on_cpu:
            precision_hint = "f32"
        if precision_hint:
            cfg["INFERENCE_PRECISION_HINT"] = str(precision_hint)
        if o["cache_dir"]:
            cfg["CACHE_DIR"] = o["cache_dir"]
        cfg.update(self.config)
        return cfg

    def _activate(self) -> None:
        ov = import_openvino()
        if not self.path.is_file():
            raise CheckpointError(f"ONNX model not found: {self.path}")
        from mmnet_edge.artifacts.metadata_io import read_metadata

        meta = read_metadata(self.path)  # CheckpointError when the file has no metadata
        core = ov.Core()
        device = check_ov_device(self.ov_device, list(core.available_devices))
        try:
            model = core.read_model(str(self.path))
        except Exception as exc:  # noqa: BLE001 - OpenVINO raises its own RuntimeError types
            raise CheckpointError(
                f"{self.path}: OpenVINO cannot read this model ({str(exc)[:300]}); re-export it "
                "with `mmnet-edge export --format onnx`"
            ) from exc
        inputs = {
            i.get_any_name(): (str(i.get_element_type()), _dims(i.get_partial_shape()))
            for i in model.inputs
        }
        outputs = {
            o.get_any_name(): (str(o.get_element_type()), _dims(o.get_partial_shape()))
            for o in model.outputs
        }
        check_graph_against_metadata(inputs, outputs, meta, str(self.path))
        batch_dim = inputs[INPUT_NAMES[0]][1][0]
        static = self.options["static_batch"]
        if static is not None:
            s = meta.input_size
            model.reshape({name: [static, 3, s, s] for name in INPUT_NAMES})
        elif batch_dim != "?":
            self._max_batch = int(batch_dim)  # exported with a fixed batch
        config = self._compile_config(device)
        try:
            compiled = core.compile_model(model, device, config)
        except Exception as exc:  # noqa: BLE001
            raise BackendUnavailableError(
                f"OpenVINO could not compile {self.path.name} for {device} ({str(exc)[:300]}); "
                "try ov_device='CPU', or another hint/inference_precision"
            ) from exc
        self.metadata = meta
        if meta.precision in ("fp32", "fp16", "int8") and self.precision != "bf16":
            self.precision = meta.precision  # the file's own record wins over its name
        self.compiled = compiled
        self._request = compiled.create_infer_request()
        self._output = compiled.outputs[0]
        self.ov_device = device
        self.properties = {}
        for key in (
            "PERFORMANCE_HINT",
            "INFERENCE_NUM_THREADS",
            "INFERENCE_PRECISION_HINT",
            "NUM_STREAMS",
            "EXECUTION_DEVICES",
        ):
            try:
                value = compiled.get_property(key)
            except Exception:  # noqa: BLE001, S112 - not every device reports every property
                continue
            # element types (the precision hint) as OpenVINO names them: "f32", "bf16"
            name = getattr(value, "get_type_name", None)
            self.properties[key] = str(name() if callable(name) else value)
        self.openvino_version = str(ov.get_version())

    @property
    def max_batch(self) -> int | None:
        return self._max_batch

    def _run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        feed = {
            "onset": onset.astype(np.float32, copy=False),
            "apex": apex.astype(np.float32, copy=False),
        }
        static = self.options["static_batch"]
        if static is not None and onset.shape[0] < static:
            pad = static - onset.shape[0]
            feed = {k: np.concatenate([v, np.repeat(v[-1:], pad, 0)]) for k, v in feed.items()}
        try:
            result = self._request.infer(feed)
        except Exception as exc:  # noqa: BLE001 - OpenVINO's own exception types
            raise MMNetEdgeError(
                f"OpenVINO failed on {self.path.name} ({str(exc)[:300]}); check the input "
                "batch against the model's shape, or re-export the model"
            ) from exc
        logits = np.array(result[self._output], dtype=np.float32)
        return logits[: onset.shape[0]]

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "ov_device": self.ov_device, "ov_properties": self.properties}

    def _release(self) -> None:
        self._request = None
        self.compiled = None
