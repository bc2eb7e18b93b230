"""TensorRT backend: a native ``.engine`` + its ``.engine.json`` sidecar.

Written against the name-based I/O API present in TensorRT 8.6, 10.x and 11.x
(``num_io_tensors``, ``get_tensor_name``, ``get_tensor_mode``, ``get_tensor_dtype``,
``get_tensor_profile_shape``, ``set_input_shape``, ``set_tensor_address``,
``execute_async_v3``). Device buffers via cuda-python or pycuda
(:mod:`~mmnet_edge.runtime.cuda_buffers`), allocated once for the profile's maximum batch
(as the engine reports it) with page-locked host staging buffers, freed and the stream
destroyed only on close. Every CUDA/TensorRT call runs inside ``buffers.bind()`` (the
runner's device — ``cuda:N`` — or pycuda's primary context, on whichever thread calls).
Activation checks each I/O tensor's mode, dtype, location and shape; sets
``engine_host_code_allowed`` for version-compatible engines and ``DLA_core`` for DLA
engines before deserializing. Run-time TensorRT failures raise
:class:`~mmnet_edge.errors.BackendExecutionError`. ``cuda_graph=True`` captures one CUDA
graph per batch size (cuda-python only) and replays it. An execution context is not
re-entrant, so calls are serialised with a lock. Lifecycle tests use doubles
(``tests/test_trt_lifecycle.py``); real runs need a GPU (``mmnet-edge doctor --acceptance``).
"""

from __future__ import annotations

import logging
import os
from typing import Any, ClassVar

import numpy as np

from mmnet_edge.artifacts.formats import INPUT_NAMES
from mmnet_edge.artifacts.manifests import EngineManifest, read_engine_manifest
from mmnet_edge.artifacts.platform import check_engine_compatibility, import_tensorrt, trt_create
from mmnet_edge.errors import (
    BackendExecutionError,
    BackendUnavailableError,
    EngineCompatibilityError,
)
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.runtime.runner import BaseRunner, device_index

log = logging.getLogger(__name__)


def _np_dtype(trt: Any, dtype: Any, name: str) -> Any:
    if dtype == trt.DataType.FLOAT:
        return np.float32
    if dtype == trt.DataType.HALF:
        return np.float16
    raise EngineCompatibilityError(
        f"engine I/O tensor {name!r} is of type {dtype}: mmnet-edge engines take and return "
        "float32/float16 (INT8 stays inside the engine); rebuild from an mmnet-edge ONNX export"
    )


class TrtRunner(BaseRunner):
    """A serialized TensorRT engine with its sidecar manifest.

    ``buffers``: ``"cuda-python"``, ``"pycuda"`` or a ready :class:`DeviceBuffers` object
    (injected, e.g. by tests or an application that owns the CUDA context);
    ``tensorrt``: the ``tensorrt`` module to use (injected by lifecycle tests).
    """

    backend: ClassVar[str] = "tensorrt"
    display_name: ClassVar[str] = "TensorRT"
    containers: ClassVar[tuple[str, ...]] = ("engine",)
    devices: ClassVar[tuple[str, ...]] = ("cuda",)
    precisions: ClassVar[dict[str, tuple[str, ...]]] = {"cuda": ("fp32", "fp16", "int8")}
    # cuda-python or pycuda is needed too, unless buffers are injected; open_buffers says so
    requires: ClassVar[tuple[tuple[str, ...], ...]] = (("tensorrt",),)
    extra: ClassVar[str] = "tensorrt"
    serialize_runs = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        device: str | None = None,
        precision: str | None = None,
        buffers: Any = None,
        cuda_graph: bool = False,
        tensorrt: Any = None,
    ) -> None:
        device = device or "cuda:0"
        super().__init__(path, device, precision)
        if not self.device.startswith("cuda"):
            raise BackendUnavailableError("a TensorRT engine runs on a CUDA device, not the CPU")
        self._requested_precision = precision
        self._buffer_choice = buffers
        self._want_graph = cuda_graph
        self._trt_module = tensorrt
        self.cuda_graph = False
        self.manifest: EngineManifest | None = None
        self._buffers: Any = None
        self._context: Any = None
        self._engine: Any = None
        self._runtime: Any = None
        self._max_batch = 1
        self._min_batch = 1

    def _activate(self) -> None:
        from mmnet_edge.runtime.cuda_buffers import open_buffers

        if self._trt_module is None:
            trt = import_tensorrt()
        else:
            trt = self._trt_module
        path = self.path
        if not path.is_file():
            raise EngineCompatibilityError(f"engine not found: {path}")
        manifest = read_engine_manifest(path)
        meta = ModelMetadata.from_dict(manifest.metadata)
        built = str(manifest.precision or meta.precision)
        want = self._requested_precision
        if want is not None and want != built:
            raise EngineCompatibilityError(
                f"{path.name} was built for {built}, not {want}; build a {want} "
                f"engine with `mmnet-edge export MODEL.onnx --format engine --{want}`"
            )
        choice = self._buffer_choice
        buffers_ = (
            choice
            if choice is not None and not isinstance(choice, str)
            else open_buffers(choice, device_index(self.device))
        )
        try:
            gpu = buffers_.device_facts()
            if not gpu:
                raise BackendUnavailableError(
                    f"{path.name}: a TensorRT engine needs a CUDA device; none is visible here "
                    "(check the driver with nvidia-smi, or CUDA_VISIBLE_DEVICES)"
                )
            check_engine_compatibility(manifest, str(trt.__version__), gpu)
        except BaseException:
            buffers_.destroy()
            raise
        self.metadata = meta
        self.precision = built
        self.manifest = manifest
        self._trt = trt
        self._buffers = buffers_
        self._graph_batch: int | None = None
        self._dev: dict[str, int] = {}
        self._host: dict[str, np.ndarray] = {}
        try:
            with buffers_.bind():  # the device (and pycuda context) TensorRT must use
                self._load_engine(trt, manifest)
                self._context = self._engine.create_execution_context()
                if self._context is None:
                    raise EngineCompatibilityError(
                        f"{path.name}: TensorRT could not create an execution context (out of "
                        "device memory?)"
                    )
                self._io = self._inspect_io()
                self._max_batch = self._profile_max_batch(manifest)
                self.cuda_graph = bool(self._want_graph and buffers_.supports_graphs)
                if self._want_graph and not self.cuda_graph:
                    log.warning("cuda_graph needs cuda-python; running without a graph on pycuda")
                self._allocate()  # once, for the profile's maximum batch
        except BaseException:
            self._release()
            raise

    def _load_engine(self, trt: Any, manifest: EngineManifest) -> None:
        path = self.path
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt_create("a runtime", trt.Runtime, self._logger)
        if manifest.version_compatible:
            # trtexec and Polygraphy do the same: a version-compatible engine embeds the
            # lean runtime as host code that the deserializing runtime must be allowed to run
            self._runtime.engine_host_code_allowed = True
        if manifest.dla_core is not None:
            cores = int(self._runtime.num_DLA_cores)
            if manifest.dla_core >= cores:
                raise EngineCompatibilityError(
                    f"{path.name} was built for DLA core {manifest.dla_core}, this device has "
                    f"{cores} DLA core(s): rebuild it here (without --dla-core on a GPU-only "
                    "device)"
                )
            self._runtime.DLA_core = int(manifest.dla_core)  # before deserializing
        try:
            self._engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        except Exception as exc:  # noqa: BLE001 - TensorRT may raise instead of returning None
            self._engine = None
            detail = f" ({exc})"
        else:
            detail = ""
        if self._engine is None:
            raise EngineCompatibilityError(
                f"{path}: TensorRT {trt.__version__} could not deserialize this engine{detail} "
                f"(built with TensorRT {manifest.tensorrt_version} on "
                f"{manifest.gpu.get('name')}); rebuild it on this machine with "
                "`mmnet-edge export`"
            )

    # ----------------------------------------------------------------- setup
    def _inspect_io(self) -> dict[str, tuple[bool, Any]]:
        """name → (is_input, numpy dtype) for every I/O tensor, each checked against what
        the runner feeds: mode, dtype, device location and shape (N×3×S×S in, N×C out)."""
        trt = self._trt
        eng = self._engine
        io: dict[str, tuple[bool, Any]] = {}
        rebuild = "rebuild from an mmnet-edge ONNX export with `mmnet-edge export`"
        for i in range(eng.num_io_tensors):
            name = eng.get_tensor_name(i)
            mode = eng.get_tensor_mode(name)
            if mode not in (trt.TensorIOMode.INPUT, trt.TensorIOMode.OUTPUT):
                raise EngineCompatibilityError(f"engine tensor {name!r} has I/O mode {mode}")
            if eng.get_tensor_location(name) != trt.TensorLocation.DEVICE:
                raise EngineCompatibilityError(
                    f"engine tensor {name!r} lives in host memory (a shape tensor?); {rebuild}"
                )
            io[name] = (
                mode == trt.TensorIOMode.INPUT,
                _np_dtype(trt, eng.get_tensor_dtype(name), name),
            )
        inputs = sorted(n for n, (inp, _) in io.items() if inp)
        outputs = [n for n, (inp, _) in io.items() if not inp]
        if inputs != sorted(INPUT_NAMES) or len(outputs) != 1:
            raise EngineCompatibilityError(
                f"{self.path.name}: engine tensors {sorted(io)}; expected inputs 'onset', 'apex' "
                f"and one logits output: {rebuild}"
            )
        self._output = outputs[0]
        s, c = self.input_size, self.num_classes
        for name in INPUT_NAMES:
            shape = tuple(int(d) for d in eng.get_tensor_shape(name))
            if len(shape) != 4 or shape[1:] != (3, s, s):
                raise EngineCompatibilityError(
                    f"{self.path.name}: input {name!r} has shape {shape}, its sidecar says "
                    f"N×3×{s}×{s}; {rebuild}"
                )
        out = tuple(int(d) for d in eng.get_tensor_shape(self._output))
        if len(out) != 2 or out[1] != c:
            raise EngineCompatibilityError(
                f"{self.path.name}: output {self._output!r} has shape {out}, expected N×{c}"
            )
        return io

    def _profile_max_batch(self, manifest: EngineManifest) -> int:
        """The maximum batch of optimization profile 0 (min, opt, max shapes), as the engine
        itself reports it; a sidecar that says otherwise belongs to another engine."""
        shapes = self._engine.get_tensor_profile_shape(INPUT_NAMES[0], 0)
        engine_max = int(shapes[2][0])
        self._min_batch = max(int(shapes[0][0]), 1)
        side = (manifest.profile or {}).get("max")
        if side is not None and int(side) != engine_max:
            raise EngineCompatibilityError(
                f"{self.path.name}: the engine's profile allows batch ≤ {engine_max}, its sidecar "
                f"says {side}: the sidecar belongs to another engine; rebuild with `mmnet-edge "
                "export`"
            )
        if engine_max < 1:
            raise EngineCompatibilityError(f"{self.path.name}: profile max batch {engine_max}")
        return engine_max

    def _allocate(self) -> None:
        s, n, c = self.input_size, self._max_batch, self.num_classes
        shapes = {**{name: (n, 3, s, s) for name in INPUT_NAMES}, self._output: (n, c)}
        for name, shape in shapes.items():
            dtype = self._io[name][1]
            nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
            self._dev[name] = self._buffers.alloc(nbytes)
            self._host[name] = self._buffers.host_array(shape, dtype)
            if not self._context.set_tensor_address(name, self._dev[name]):
                raise EngineCompatibilityError(f"TensorRT refused the address of tensor {name!r}")

    @property
    def max_batch(self) -> int | None:
        return self._max_batch

    # ------------------------------------------------------------------- run
    def _enqueue(self) -> None:
        if not self._context.execute_async_v3(self._buffers.stream_handle):
            raise BackendExecutionError(
                f"TensorRT execution of {self.path.name} failed (see the TensorRT log above); "
                "the input was valid — check device memory and the driver, or rebuild the engine"
            )

    def _run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        with self._buffers.bind():
            return self._run_bound(onset, apex)

    def _run_bound(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        batch = onset.shape[0]
        out_host = self._host[self._output][:batch]
        for name, arr in zip(INPUT_NAMES, (onset, apex)):
            staged = self._host[name][:batch]
            np.copyto(staged, arr, casting="same_kind")
            if not self._context.set_input_shape(name, tuple(arr.shape)):
                raise BackendExecutionError(
                    f"TensorRT rejected input shape {tuple(arr.shape)} for {name!r}; the engine's "
                    f"profile allows batch {self._min_batch}…{self._max_batch}"
                )
            self._buffers.to_device(self._dev[name], staged)
        if self.cuda_graph:
            if self._graph_batch != batch:
                self._enqueue()  # TensorRT needs one plain enqueue after a shape change
                self._buffers.capture(self._enqueue)
                self._graph_batch = batch
            self._buffers.replay()
        else:
            self._enqueue()
        self._buffers.to_host(out_host, self._dev[self._output])
        self._buffers.synchronize()
        return np.array(out_host, dtype=np.float32)  # copy: the staging buffer is reused

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "tensorrt": str(self._trt.__version__) if self._buffers is not None else None,
            "buffers": getattr(self._buffers, "name", None),
            "cuda_graph": self.cuda_graph,
        }

    def _release(self) -> None:
        """Drop context, engine and runtime (in that order), then free and destroy buffers."""
        buffers = self._buffers
        self._context = None
        self._engine = None
        self._runtime = None
        self._buffers = None
        self._dev, self._host = {}, {}
        if buffers is not None:
            buffers.destroy()
