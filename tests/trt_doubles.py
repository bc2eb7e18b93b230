"""Test doubles of ``tensorrt``, cuda-python's runtime (``cuda.bindings.runtime``) and
``pycuda.driver`` that follow the real calling conventions, on one simulated GPU.

They prove control flow on CPU — never that anything works on a GPU. Conventions were
checked against NVIDIA's own sources and samples:

* cuda-python: every call returns a tuple whose first item is a ``cudaError_t``
  (``(err,)`` or ``(err, value)``, as ``cuda_call`` in TensorRT's
  ``samples/python/common_runtime.py`` unpacks them); streams are ``cudaStream_t`` handles
  that ``int()`` converts; ``cudaSetDevice`` is per thread; a destroyed stream is an
  invalid handle (``cudaErrorInvalidResourceHandle``); graphs via
  ``cudaStreamBeginCapture``/``EndCapture``/``cudaGraphInstantiateWithFlags``/``Launch``.
* pycuda: ``Device(i).retain_primary_context()`` + ``push()``/``Context.pop()`` as
  ``pycuda/autoprimaryctx.py`` does; memory calls need a current context; a context made
  with ``make_context()`` (what ``pycuda.autoinit`` does) is *not* the primary context
  TensorRT's runtime uses, and an engine enqueued under it fails ("invalid resource
  handle", ultralytics#9092).
* tensorrt (bindings ``python/src/infer/pyCore.cpp`` / ``pyGraph.cpp`` at 8.6.1, 10.3,
  10.16 and 11.x; trtexec ``sampleEngines.cpp``; Polygraphy ``backend/trt``): members per
  version as in ``tests/data/tensorrt_names`` (8.6: ``EXPLICIT_BATCH`` required by the ONNX
  parser, FP16/INT8 flags, calibrators; 10.x: also ``STRONGLY_TYPED``, where precision
  flags are refused; 11.x: strongly typed only — no precision flags, no calibrators, no
  ``EXPLICIT_BATCH``); ``set_input_shape``/``set_tensor_address``/``execute_async_v3``
  return ``bool``; ``execute_async_v3`` needs every I/O address and input shape set;
  version-compatible engines deserialize on a newer runtime of the same major only with
  ``engine_host_code_allowed``; DLA engines need ``Runtime.DLA_core``; dynamic shapes
  with an implicit calibrator need ``set_calibration_profile``; the engine inspector
  returns JSON (``LayerType`` per layer with ``ProfilingVerbosity.DETAILED``).

The "network" a double engine runs is a fixed linear function of the inputs
(:func:`reference_logits`), so a runner's outputs can be checked exactly.
"""

from __future__ import annotations

import ctypes
import enum
import json
import threading
import types
from pathlib import Path
from typing import Any

import numpy as np


def reference_logits(onset: np.ndarray, apex: np.ndarray, num_classes: int) -> np.ndarray:
    """What every double engine computes: a fixed linear map of the pair."""
    n = onset.shape[0]
    diff = apex.astype(np.float32) - onset.astype(np.float32)
    feat = diff.reshape(n, 3, -1).mean(-1)
    w = np.linspace(-1.0, 1.0, 3 * num_classes, dtype=np.float32).reshape(3, num_classes)
    bias = np.arange(num_classes, dtype=np.float32) * 0.01
    base = onset.astype(np.float32).reshape(n, -1).mean(-1, keepdims=True) * 0.1
    return (feat @ w + bias + base).astype(np.float32)


# --------------------------------------------------------------------------- the GPU
class FakeGpu:
    """Device memory, streams and per-thread current device/context of a simulated GPU."""

    def __init__(
        self,
        devices: tuple[dict[str, Any], ...] = (
            {"name": "NVIDIA GeForce RTX 3060", "cc": (8, 6), "integrated": False},
        ),
        dla_cores: int = 0,
    ) -> None:
        self.devices = list(devices)
        self.dla_cores = dla_cores
        self.mem: dict[int, tuple[int, bytearray]] = {}
        self.host: dict[int, Any] = {}
        self.streams: dict[int, dict[str, Any]] = {}
        self._next = 0x10000
        self.local = threading.local()
        self.calls: list[str] = []

    # per-thread state
    def current_device(self) -> int:
        return getattr(self.local, "device", 0)

    def ctx_stack(self) -> list[Any]:
        if not hasattr(self.local, "stack"):
            self.local.stack = []
        return self.local.stack

    def runtime_device(self) -> int | str:
        """The device the CUDA runtime (and TensorRT) uses on this thread: the current
        pycuda context's, else ``cudaSetDevice``'s; ``"foreign"`` in a non-primary context."""
        stack = self.ctx_stack()
        if stack:
            top = stack[-1]
            return top.device if top.primary else "foreign"
        return self.current_device()

    # memory
    def malloc(self, nbytes: int, device: int) -> int:
        ptr = self._next
        self._next += (int(nbytes) + 0xFFF) & ~0xFFF
        self.mem[ptr] = (device, bytearray(int(nbytes)))
        return ptr

    def write(self, ptr: int, data: bytes) -> None:
        dev, buf = self.mem[int(ptr)]
        if len(data) > len(buf):
            raise AssertionError(f"write of {len(data)} bytes into a {len(buf)}-byte buffer")
        buf[: len(data)] = data

    def read(self, ptr: int, nbytes: int) -> bytes:
        dev, buf = self.mem[int(ptr)]
        if nbytes > len(buf):
            raise AssertionError(f"read of {nbytes} bytes from a {len(buf)}-byte buffer")
        return bytes(buf[:nbytes])

    def new_stream(self, device: int) -> int:
        handle = self._next
        self._next += 0x10
        self.streams[handle] = {"device": device, "alive": True, "capture": None}
        return handle

    def stream_ok(self, handle: Any) -> bool:
        return isinstance(handle, int) and self.streams.get(handle, {}).get("alive", False)

    def enqueue(self, handle: int, work: Any) -> None:
        capture = self.streams[handle]["capture"]
        if capture is not None:
            capture.append(work)
        else:
            work()


# ------------------------------------------------------------------- cuda-python
class cudaError_t(enum.IntEnum):  # noqa: N801 - cuda-python's name
    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorMemoryAllocation = 2
    cudaErrorInvalidDevice = 101
    cudaErrorInvalidResourceHandle = 400


class cudaStream_t:  # noqa: N801
    def __init__(self, handle: int) -> None:
        self._handle = handle

    def __int__(self) -> int:
        return self._handle


OK = cudaError_t.cudaSuccess


class FakeCudart:
    """``cuda.bindings.runtime``: each call returns ``(cudaError_t, *values)``."""

    cudaMemcpyKind = types.SimpleNamespace(cudaMemcpyHostToDevice=1, cudaMemcpyDeviceToHost=2)
    cudaStreamCaptureMode = types.SimpleNamespace(cudaStreamCaptureModeThreadLocal=1)

    def __init__(self, gpu: FakeGpu, runtime_version: int = 12060) -> None:
        self.gpu = gpu
        self.version = runtime_version

    def _log(self, name: str) -> None:
        self.gpu.calls.append(name)

    def cudaGetDeviceCount(self) -> tuple:
        return OK, len(self.gpu.devices)

    def cudaGetDeviceProperties(self, device: int) -> tuple:
        if not 0 <= device < len(self.gpu.devices):
            return cudaError_t.cudaErrorInvalidDevice, None
        d = self.gpu.devices[device]
        prop = types.SimpleNamespace(
            name=d["name"].encode() + b"\x00" * 8,
            major=d["cc"][0],
            minor=d["cc"][1],
            totalGlobalMem=8 << 30,
            integrated=int(d.get("integrated", False)),
        )
        return OK, prop

    def cudaRuntimeGetVersion(self) -> tuple:
        return OK, self.version

    def cudaSetDevice(self, device: int) -> tuple:
        self._log(f"cudaSetDevice({device})")
        if not 0 <= device < len(self.gpu.devices):
            return (cudaError_t.cudaErrorInvalidDevice,)
        self.gpu.local.device = device
        return (OK,)

    def cudaStreamCreate(self) -> tuple:
        self._log("cudaStreamCreate")
        return OK, cudaStream_t(self.gpu.new_stream(self.gpu.current_device()))

    def cudaStreamDestroy(self, stream: Any) -> tuple:
        self._log("cudaStreamDestroy")
        s = self.gpu.streams.get(int(stream))
        if s is None or not s["alive"]:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        s["alive"] = False
        return (OK,)

    def cudaStreamSynchronize(self, stream: Any) -> tuple:
        if not self.gpu.stream_ok(int(stream)):
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        return (OK,)

    def cudaMalloc(self, nbytes: int) -> tuple:
        self._log("cudaMalloc")
        return OK, self.gpu.malloc(nbytes, self.gpu.current_device())

    def cudaFree(self, ptr: int) -> tuple:
        self._log("cudaFree")
        if self.gpu.mem.pop(int(ptr), None) is None:
            return (cudaError_t.cudaErrorInvalidValue,)
        return (OK,)

    def cudaMallocHost(self, nbytes: int) -> tuple:
        buf = ctypes.create_string_buffer(int(nbytes))
        ptr = ctypes.addressof(buf)
        self.gpu.host[ptr] = buf
        return OK, ptr

    def cudaFreeHost(self, ptr: int) -> tuple:
        self._log("cudaFreeHost")
        if self.gpu.host.pop(int(ptr), None) is None:
            return (cudaError_t.cudaErrorInvalidValue,)
        return (OK,)

    def cudaMemcpyAsync(self, dst: int, src: int, count: int, kind: int, stream: Any) -> tuple:
        if not self.gpu.stream_ok(int(stream)):
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        if kind == self.cudaMemcpyKind.cudaMemcpyHostToDevice:
            if int(dst) not in self.gpu.mem:
                return (cudaError_t.cudaErrorInvalidValue,)
            self.gpu.write(dst, ctypes.string_at(src, count))
        else:
            if int(src) not in self.gpu.mem:
                return (cudaError_t.cudaErrorInvalidValue,)
            ctypes.memmove(dst, self.gpu.read(src, count), count)
        return (OK,)

    def cudaStreamBeginCapture(self, stream: Any, mode: int) -> tuple:
        self.gpu.streams[int(stream)]["capture"] = []
        return (OK,)

    def cudaStreamEndCapture(self, stream: Any) -> tuple:
        s = self.gpu.streams[int(stream)]
        graph, s["capture"] = list(s["capture"]), None
        return OK, ("graph", graph)

    def cudaGraphInstantiateWithFlags(self, graph: Any, flags: int) -> tuple:
        return OK, ("exec", graph[1])

    def cudaGraphLaunch(self, graph_exec: Any, stream: Any) -> tuple:
        self._log("cudaGraphLaunch")
        for work in graph_exec[1]:
            work()
        return (OK,)

    def cudaGraphExecDestroy(self, graph_exec: Any) -> tuple:
        return (OK,)

    def cudaGraphDestroy(self, graph: Any) -> tuple:
        return (OK,)


# ------------------------------------------------------------------------- pycuda
class LogicError(RuntimeError):
    """pycuda's error for "no current context" and friends."""


class FakePyCudaDriver:
    """``pycuda.driver`` on a :class:`FakeGpu`: memory and streams need a current context."""

    def __init__(self, gpu: FakeGpu) -> None:
        self.gpu = gpu
        self.inits = 0
        self.made_contexts = 0
        self.device_attribute = types.SimpleNamespace(INTEGRATED="INTEGRATED")
        drv = self

        class Ctx:
            def __init__(self, device: int, primary: bool) -> None:
                self.device, self.primary = device, primary

            def push(self) -> None:
                gpu.ctx_stack().append(self)

        class Context:
            @staticmethod
            def pop() -> None:
                if not gpu.ctx_stack():
                    raise LogicError("cuCtxPopCurrent failed: invalid device context")
                gpu.ctx_stack().pop()

            @staticmethod
            def get_current() -> Any:
                return gpu.ctx_stack()[-1] if gpu.ctx_stack() else None

        class Device:
            def __init__(self, index: int) -> None:
                if not 0 <= index < len(gpu.devices):
                    raise LogicError(f"cuDeviceGet failed: invalid device ordinal {index}")
                self.index = index
                self.info = gpu.devices[index]

            @staticmethod
            def count() -> int:
                return len(gpu.devices)

            def retain_primary_context(self) -> Ctx:
                return Ctx(self.index, primary=True)

            def make_context(self) -> Ctx:  # what pycuda.autoinit does
                drv.made_contexts += 1
                ctx = Ctx(self.index, primary=False)
                ctx.push()
                return ctx

            def compute_capability(self) -> tuple[int, int]:
                return self.info["cc"]

            def name(self) -> str:
                return self.info["name"]

            def total_memory(self) -> int:
                return 8 << 30

            def get_attribute(self, attr: str) -> int:
                return int(self.info.get("integrated", False)) if attr == "INTEGRATED" else 0

        self.Context, self.Device = Context, Device

    def _ctx(self) -> Any:
        stack = self.gpu.ctx_stack()
        if not stack:
            raise LogicError("invalid device context - no currently active context?")
        return stack[-1]

    def init(self) -> None:
        self.inits += 1

    def Stream(self) -> Any:  # noqa: N802 - pycuda's name
        ctx = self._ctx()
        return types.SimpleNamespace(
            handle=self.gpu.new_stream(ctx.device), synchronize=lambda: self._ctx()
        )

    def mem_alloc(self, nbytes: int) -> Any:
        ptr = self.gpu.malloc(nbytes, self._ctx().device)
        gpu = self.gpu

        class DeviceAllocation(int):
            def free(self) -> None:
                gpu.mem.pop(int(self), None)

        return DeviceAllocation(ptr)

    def pagelocked_empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        self._ctx()
        return np.empty(shape, dtype)

    def memcpy_htod_async(self, ptr: int, host: np.ndarray, stream: Any) -> None:
        self._ctx()
        self.gpu.write(int(ptr), np.ascontiguousarray(host).tobytes())

    def memcpy_dtoh_async(self, host: np.ndarray, ptr: int, stream: Any) -> None:
        self._ctx()
        data = np.frombuffer(self.gpu.read(int(ptr), host.nbytes), host.dtype)
        host[...] = data.reshape(host.shape)


# ----------------------------------------------------------------------- tensorrt
class _HostMemory:
    """``IHostMemory``: what ``bytes()`` reads."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __bytes__(self) -> bytes:
        return self.data


def _features(version: str) -> dict[str, bool]:
    major = int(version.split(".")[0])
    return {
        "explicit_batch": major <= 10,
        "strongly_typed": major >= 10,
        "precision_flags": major <= 10,
        "calibrators": major <= 10,
    }


def make_tensorrt(version: str, gpu: FakeGpu, onnx_reader: Any = None) -> types.ModuleType:
    """A ``tensorrt`` module double of ``version`` (8.6.x, 10.x or 11.x) on ``gpu``.

    Records what was called in ``trt.events`` and counters in ``trt.stats``.
    """
    feats = _features(version)
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.events = []
    trt.stats = {"builds": 0, "timing_cache_hits": 0, "calib_batches": 0, "executions": 0}
    trt.dla_supported_layers = 4  # how many layers the DLA would take
    trt.fail_execute = False
    #: constructors/factories that fail as the real bindings do: "Builder"/"Runtime" raise
    #: pybind11's TypeError (the C++ factory returned nullptr: no usable GPU, or a wheel for
    #: another CUDA major) — or give None with ``create_failure = "None"``;
    #: "create_network", "create_builder_config", "create_optimization_profile" and
    #: "create_execution_context" return None
    trt.fail_create = set()
    trt.create_failure = "TypeError"
    ev = trt.events.append

    class Severity(enum.IntEnum):
        INTERNAL_ERROR = 0
        ERROR = 1
        WARNING = 2
        INFO = 3
        VERBOSE = 4

    class Logger:
        INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = list(Severity)

        def __init__(self, min_severity: Any = Severity.WARNING) -> None:
            self.min_severity = min_severity
            self.errors: list[str] = []

        def log(self, severity: Any, msg: str) -> None:
            if severity <= Severity.ERROR:
                self.errors.append(msg)

    ncf = {"EXPLICIT_BATCH": 0} if feats["explicit_batch"] else {}
    if feats["strongly_typed"]:
        ncf["STRONGLY_TYPED"] = 1
    NetworkDefinitionCreationFlag = enum.IntEnum("NetworkDefinitionCreationFlag", ncf)
    flags = ["GPU_FALLBACK", "VERSION_COMPATIBLE", "EXCLUDE_LEAN_RUNTIME", "DEBUG"]
    if feats["precision_flags"]:
        flags = ["FP16", "INT8", *flags]
    BuilderFlag = enum.IntEnum("BuilderFlag", flags)
    DataType = enum.IntEnum("DataType", ["FLOAT", "HALF", "INT8", "INT32", "BOOL"])
    TensorIOMode = enum.IntEnum("TensorIOMode", ["NONE", "INPUT", "OUTPUT"])
    TensorLocation = enum.IntEnum("TensorLocation", ["DEVICE", "HOST"])
    DeviceType = enum.IntEnum("DeviceType", ["GPU", "DLA"])
    MemoryPoolType = enum.IntEnum("MemoryPoolType", ["WORKSPACE", "DLA_MANAGED_SRAM"])
    ProfilingVerbosity = enum.IntEnum(
        "ProfilingVerbosity", ["LAYER_NAMES_ONLY", "NONE", "DETAILED"]
    )
    LayerInformationFormat = enum.IntEnum("LayerInformationFormat", ["ONELINE", "JSON"])
    HardwareCompatibilityLevel = enum.IntEnum("HardwareCompatibilityLevel", ["NONE", "AMPERE_PLUS"])

    class INetworkDefinition:
        def __init__(self, flags: int) -> None:
            self.flags = flags
            self.strongly_typed = bool(
                feats["strongly_typed"] and flags & (1 << ncf.get("STRONGLY_TYPED", 31))
            )
            self.source: Path | None = None
            self.io: dict[str, Any] = {}

    class ParserError:
        def __init__(self, desc: str) -> None:
            self.desc = desc

        def __str__(self) -> str:
            return self.desc

    class OnnxParser:
        def __init__(self, network: INetworkDefinition, logger: Logger) -> None:
            self.network = network
            self._errors: list[ParserError] = []

        @property
        def num_errors(self) -> int:
            return len(self._errors)

        def get_error(self, i: int) -> ParserError:
            return self._errors[i]

        def parse_from_file(self, path: str) -> bool:
            ev(f"parse:{Path(path).name}")
            if feats["explicit_batch"] and int(version.split(".")[0]) < 10:
                if not self.network.flags & (1 << ncf["EXPLICIT_BATCH"]):
                    self._errors.append(ParserError("the ONNX parser needs EXPLICIT_BATCH"))
                    return False
            if not Path(path).is_file():
                self._errors.append(ParserError(f"file not found: {path}"))
                return False
            reader = onnx_reader or _read_onnx_io
            self.network.source = Path(path)
            self.network.io = reader(Path(path))
            return True

    class IOptimizationProfile:
        def __init__(self) -> None:
            self.shapes: dict[str, tuple] = {}

        def set_shape(self, name: str, lo: tuple, opt: tuple, hi: tuple) -> None:
            assert lo[0] <= opt[0] <= hi[0], (lo, opt, hi)
            self.shapes[name] = (tuple(lo), tuple(opt), tuple(hi))

    class ITimingCache:
        def __init__(self, blob: bytes) -> None:
            self.entries: list[str] = json.loads(blob.decode()) if blob else []

        def serialize(self) -> _HostMemory:
            return _HostMemory(json.dumps(self.entries).encode())

    class IBuilderConfig:
        builder_optimization_level = 3
        hardware_compatibility_level = HardwareCompatibilityLevel.NONE

        def __init__(self) -> None:
            self.flags: set[Any] = set()
            self.pool: dict[Any, int] = {}
            self.profiles: list[IOptimizationProfile] = []
            self.default_device_type = DeviceType.GPU
            self.DLA_core = -1
            self.profiling_verbosity = ProfilingVerbosity.LAYER_NAMES_ONLY
            self._cache: ITimingCache | None = None
            if feats["calibrators"]:
                self.int8_calibrator = None
                self.calibration_profile = None

        def set_memory_pool_limit(self, pool: Any, size: int) -> None:
            self.pool[pool] = size

        def set_flag(self, flag: Any) -> None:
            self.flags.add(flag)

        def get_flag(self, flag: Any) -> bool:
            return flag in self.flags

        def add_optimization_profile(self, profile: IOptimizationProfile) -> int:
            self.profiles.append(profile)
            return len(self.profiles) - 1

        def create_timing_cache(self, blob: bytes) -> ITimingCache:
            return ITimingCache(bytes(blob))

        def set_timing_cache(self, cache: ITimingCache, ignore_mismatch: bool) -> bool:
            self._cache = cache
            return True

        def get_timing_cache(self) -> ITimingCache | None:
            return self._cache

    if feats["calibrators"]:

        def set_calibration_profile(self: Any, profile: IOptimizationProfile) -> bool:
            self.calibration_profile = profile
            return True

        IBuilderConfig.set_calibration_profile = set_calibration_profile

    def _constructed(cls: type, name: str) -> Any:
        """``cls``'s new instance, or None where ``name`` fails with ``create_failure="None"``
        (``__init__`` then does not run)."""
        if name in trt.fail_create and trt.create_failure == "None":
            return None
        return object.__new__(cls)

    def _nullptr(name: str) -> None:
        if name in trt.fail_create:
            raise TypeError("pybind11::init(): factory function returned nullptr")

    class Builder:
        def __new__(cls, logger: Logger) -> Builder | None:
            return _constructed(cls, "Builder")

        def __init__(self, logger: Logger) -> None:
            _nullptr("Builder")
            self.logger = logger
            self.num_DLA_cores = gpu.dla_cores

        def create_network(self, flags: int = 0) -> INetworkDefinition | None:
            ev(f"create_network({flags})")
            return None if "create_network" in trt.fail_create else INetworkDefinition(flags)

        def create_builder_config(self) -> IBuilderConfig | None:
            return None if "create_builder_config" in trt.fail_create else IBuilderConfig()

        def create_optimization_profile(self) -> IOptimizationProfile | None:
            fail = "create_optimization_profile" in trt.fail_create
            return None if fail else IOptimizationProfile()

        def _fail(self, msg: str) -> None:
            ev(f"build-error:{msg}")
            self.logger.log(Severity.ERROR, msg)

        def build_serialized_network(self, network: Any, config: Any) -> _HostMemory | None:
            trt.stats["builds"] += 1
            precision_flags = {f for f in config.flags if f.name in ("FP16", "INT8")}
            if network.strongly_typed and precision_flags:
                return self._fail("precision flags are not allowed on a strongly typed network")
            if not config.profiles or set(config.profiles[0].shapes) != {"onset", "apex"}:
                return self._fail("dynamic inputs need an optimization profile for every input")
            lo, opt, hi = (s[0] for s in config.profiles[0].shapes["onset"])
            calib = getattr(config, "int8_calibrator", None)
            if calib is not None:
                if network.strongly_typed:
                    return self._fail("calibrators are not allowed on strongly typed networks")
                if config.calibration_profile is None and lo != hi:
                    return self._fail("dynamic shapes need a calibration profile")
                if not self._calibrate(calib, config.calibration_profile or config.profiles[0]):
                    return None
            dla_layers = 0
            if config.default_device_type == DeviceType.DLA:
                if self.num_DLA_cores == 0 or not 0 <= config.DLA_core < self.num_DLA_cores:
                    return self._fail(f"DLA core {config.DLA_core} does not exist")
                if network.strongly_typed or not precision_flags:
                    return self._fail("DLA needs FP16 or INT8 (weakly typed)")
                if BuilderFlag.GPU_FALLBACK not in config.flags:
                    return self._fail("a layer cannot run on the DLA and GPU fallback is off")
                dla_layers = trt.dla_supported_layers
            cache = config.get_timing_cache()
            key = f"{network.source.name}:{sorted(f.name for f in config.flags)}"
            if cache is not None:
                if key in cache.entries:
                    trt.stats["timing_cache_hits"] += 1
                else:
                    cache.entries.append(key)
            io = network.io
            if network.strongly_typed:
                dtype = io["dtype"]
            else:
                dtype = "FLOAT"
            blob = {
                "fake-tensorrt": version,
                "version_compatible": BuilderFlag.VERSION_COMPATIBLE in config.flags,
                "profile": [lo, opt, hi],
                "size": io["size"],
                "classes": io["classes"],
                "dtype": dtype,
                "dla_core": config.DLA_core if dla_layers else None,
                "dla_layers": dla_layers,
                "detailed": config.profiling_verbosity == ProfilingVerbosity.DETAILED,
                "device": gpu.runtime_device(),
                "flags": sorted(f.name for f in config.flags),
                "strongly_typed": network.strongly_typed,
                "source": network.source.name,
            }
            ev(f"build:{json.dumps(blob, sort_keys=True)}")
            return _HostMemory(b"FAKETRT" + json.dumps(blob).encode())

        def _calibrate(self, calib: Any, profile: IOptimizationProfile) -> bool:
            cache = calib.read_calibration_cache()
            if cache:
                ev("calibration-cache-read")
                return True
            opt = profile.shapes["onset"][1][0]
            if calib.get_batch_size() != opt:
                self._fail(f"calibrator batch {calib.get_batch_size()} != profile opt {opt}")
                return False
            while True:
                ptrs = calib.get_batch(["onset", "apex"])
                if not ptrs:
                    break
                assert all(int(p) in gpu.mem for p in ptrs), "calibrator passed a freed buffer"
                trt.stats["calib_batches"] += 1
            calib.write_calibration_cache(_HostMemory(f"calib {version}".encode()))
            return True

    class EngineInspector:
        def __init__(self, blob: dict[str, Any]) -> None:
            self.blob = blob
            self.execution_context = None

        def get_engine_information(self, fmt: Any) -> str:
            assert fmt == LayerInformationFormat.JSON
            n = self.blob["dla_layers"]
            if self.blob["detailed"]:
                layers: list[Any] = [
                    {"Name": "onset to nvm", "LayerType": "Reformat"},
                    *({"Name": f"{{ForeignNode[dla{i}]}}", "LayerType": "DLA"} for i in range(n)),
                    {"Name": "attention", "LayerType": "Myelin"},
                ]
            else:
                layers = ["input copy", "{ForeignNode[attention]}"]
            return json.dumps({"Layers": layers, "Bindings": ["onset", "apex", "logits"]})

    class ICudaEngine:
        def __init__(self, blob: dict[str, Any]) -> None:
            self.blob = blob
            self.device = gpu.runtime_device()
            self._dtype = getattr(DataType, blob["dtype"])
            self.names = ["onset", "apex", "logits"]

        @property
        def num_io_tensors(self) -> int:
            return 3

        def get_tensor_name(self, i: int) -> str:
            return self.names[i]

        def get_tensor_mode(self, name: str) -> Any:
            return TensorIOMode.OUTPUT if name == "logits" else TensorIOMode.INPUT

        def get_tensor_dtype(self, name: str) -> Any:
            return self._dtype

        def get_tensor_location(self, name: str) -> Any:
            return TensorLocation.DEVICE

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            s = self.blob["size"]
            return (-1, self.blob["classes"]) if name == "logits" else (-1, 3, s, s)

        def get_tensor_profile_shape(self, name: str, profile: int) -> list[tuple[int, ...]]:
            s = self.blob["size"]
            return [(b, 3, s, s) for b in self.blob["profile"]]

        def create_execution_context(self) -> IExecutionContext | None:
            # None: TensorRT could not allocate the context (out of device memory)
            fail = "create_execution_context" in trt.fail_create
            return None if fail else IExecutionContext(self)

        def create_engine_inspector(self) -> EngineInspector:
            return EngineInspector(self.blob)

    class IExecutionContext:
        def __init__(self, engine: ICudaEngine) -> None:
            self.engine = engine
            self.shapes: dict[str, tuple[int, ...]] = {}
            self.addresses: dict[str, int] = {}

        def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
            lo, _, hi = self.engine.blob["profile"]
            s = self.engine.blob["size"]
            if tuple(shape[1:]) != (3, s, s) or not lo <= shape[0] <= hi:
                return False
            self.shapes[name] = tuple(shape)
            return True

        def set_tensor_address(self, name: str, ptr: int) -> bool:
            if name not in self.engine.names or not isinstance(ptr, int):
                return False
            self.addresses[name] = ptr
            return True

        def execute_async_v3(self, stream_handle: int) -> bool:
            ev("execute_async_v3")
            if trt.fail_execute or not gpu.stream_ok(stream_handle):
                return False
            if set(self.addresses) != set(self.engine.names):
                return False
            if set(self.shapes) != {"onset", "apex"} or len({s for s in self.shapes.values()}) != 1:
                return False
            if gpu.runtime_device() != self.engine.device:
                ev(f"wrong-device:{gpu.runtime_device()}!={self.engine.device}")
                return False  # "invalid resource handle"
            if any(gpu.mem[self.addresses[n]][0] != self.engine.device for n in self.addresses):
                return False
            shape = self.shapes["onset"]
            dtype = np.float16 if self.engine.blob["dtype"] == "HALF" else np.float32
            nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
            classes = self.engine.blob["classes"]
            addr = dict(self.addresses)

            def work() -> None:
                on = np.frombuffer(gpu.read(addr["onset"], nbytes), dtype).reshape(shape)
                ap = np.frombuffer(gpu.read(addr["apex"], nbytes), dtype).reshape(shape)
                out = reference_logits(on, ap, classes).astype(dtype)
                gpu.write(addr["logits"], out.tobytes())
                trt.stats["executions"] += 1

            gpu.enqueue(stream_handle, work)
            return True

    class Runtime:
        def __new__(cls, logger: Logger) -> Runtime | None:
            return _constructed(cls, "Runtime")

        def __init__(self, logger: Logger) -> None:
            _nullptr("Runtime")
            self.logger = logger
            self.engine_host_code_allowed = False
            self.DLA_core = -1
            self.num_DLA_cores = gpu.dla_cores

        def deserialize_cuda_engine(self, data: bytes) -> ICudaEngine | None:
            data = bytes(data)
            if not data.startswith(b"FAKETRT"):
                self.logger.log(Severity.ERROR, "magic tag mismatch")
                return None
            blob = json.loads(data[7:])
            built = blob["fake-tensorrt"]
            if built != version:
                vc = blob["version_compatible"] and self.engine_host_code_allowed
                same_major = built.split(".")[0] == version.split(".")[0]
                newer = _vt(version) >= _vt(built)
                if not (vc and same_major and newer):
                    ev(f"deserialize-refused:{built}")
                    return None
            if blob["dla_core"] is not None and self.DLA_core != blob["dla_core"]:
                ev("deserialize-refused:dla-core")
                return None
            ev("deserialize")
            return ICudaEngine(blob)

    for name, value in dict(locals()).items():
        if name[:1].isupper() and name not in ("Severity",):
            setattr(trt, name, value)
    trt.ILogger = types.SimpleNamespace(Severity=Severity)
    if feats["calibrators"]:

        class IInt8EntropyCalibrator2:
            def __init__(self) -> None:
                pass

        trt.IInt8EntropyCalibrator2 = IInt8EntropyCalibrator2
    return trt


def _vt(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split(".") if p.isdigit())


def _read_onnx_io(path: Path) -> dict[str, Any]:
    """Input size, class count and I/O dtype of an ONNX file (what the parser would see)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    inp = model.graph.input[0].type.tensor_type
    out = model.graph.output[0].type.tensor_type
    dims = [d.dim_value for d in inp.shape.dim]
    elem = {onnx.TensorProto.FLOAT: "FLOAT", onnx.TensorProto.FLOAT16: "HALF"}[inp.elem_type]
    return {"size": dims[-1], "classes": out.shape.dim[-1].dim_value, "dtype": elem}


def write_tiny_onnx(path: Path, classes: int = 5, fp16: bool = False) -> Path:
    """A minimal ONNX file with the mmnet-edge I/O names and metadata (a parser input)."""
    import onnx
    from onnx import TensorProto, helper

    from mmnet_edge.artifacts.onnx_props import write_onnx_metadata
    from mmnet_edge.metadata import ModelMetadata
    from mmnet_edge.model import create_config

    config = create_config("tiny", classes)
    size = config.input_size
    et = TensorProto.FLOAT16 if fp16 else TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info(n, et, ["batch", 3, size, size]) for n in ("onset", "apex")
    ]
    out = helper.make_tensor_value_info("logits", et, ["batch", classes])
    nodes = [
        helper.make_node("Sub", ["apex", "onset"], ["d"]),
        helper.make_node("ReduceMean", ["d"], ["m"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["m", "w"], ["logits"]),
    ]
    w = helper.make_tensor("w", et, [3, classes], np.zeros(3 * classes).tolist())
    graph = helper.make_graph(nodes, "tiny", inputs, [out], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    meta = ModelMetadata(config=config)
    meta.precision = "fp16" if fp16 else "fp32"
    write_onnx_metadata(path, meta)
    return path
