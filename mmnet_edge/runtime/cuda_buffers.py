"""Device buffers, pinned host buffers, streams and CUDA graphs for the TensorRT runner.

Two interchangeable implementations: cuda-python (``cuda.bindings.runtime``, or
``cuda.cudart`` in cuda-python < 12.6) — preferred — and pycuda. Only what TensorRT
inference needs: allocate, copy host↔device asynchronously on one stream, synchronise,
capture/replay a CUDA graph (cuda-python only), free. Imported lazily; absent libraries
raise :class:`BackendUnavailableError` naming the extra to install.

Lifecycle (the same for both): the constructor selects the device and creates the stream;
``alloc``/``host_array`` allocate; :meth:`free` releases the *allocations* only (the stream
stays usable, so buffers can be re-allocated); :meth:`destroy` frees and then destroys the
stream — call it once, on close. :meth:`bind` makes this object's device (cuda-python:
``cudaSetDevice``, a per-thread setting) or context (pycuda: the device's *primary*
context, as ``pycuda.autoprimaryctx`` does — never ``pycuda.autoinit``'s new context,
which TensorRT's engine would not share) current on the calling thread; the runner wraps
every call that touches CUDA or TensorRT in it.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from mmnet_edge.errors import BackendExecutionError, BackendUnavailableError


class DeviceBuffers(Protocol):
    """What :class:`~mmnet_edge.runtime.trt_runner.TrtRunner` needs from a CUDA library."""

    name: str
    supports_graphs: bool
    device: int

    def device_facts(self) -> dict[str, Any]: ...
    def bind(self) -> contextlib.AbstractContextManager[None]: ...
    def alloc(self, nbytes: int) -> int: ...
    def host_array(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray: ...
    def to_device(self, ptr: int, host: np.ndarray) -> None: ...
    def to_host(self, host: np.ndarray, ptr: int) -> None: ...
    @property
    def stream_handle(self) -> int: ...
    def synchronize(self) -> None: ...
    def free(self) -> None: ...
    def destroy(self) -> None: ...


def _cudart() -> Any:
    from mmnet_edge.artifacts.platform import import_cudart

    return import_cudart()


def _check(result: Any, error: type[Exception] = BackendExecutionError) -> Any:
    """cuda-python returns ``(err, *values)``; raise ``error`` on a non-zero error."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise error(
            f"CUDA runtime call failed: {getattr(err, 'name', err)} ({int(err)}); check the "
            "driver (nvidia-smi / tegrastats) and that no other process holds all GPU memory"
        )
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


class CudaPythonBuffers:
    """Buffers, a stream and graphs on one device via cuda-python's runtime API.

    ``cudart`` may be injected (tests); by default cuda-python's runtime module is imported.
    """

    name = "cuda-python"
    supports_graphs = True

    def __init__(self, device: int = 0, cudart: Any = None) -> None:
        self.rt = cudart if cudart is not None else _cudart()
        self.device = int(device)
        _check(self.rt.cudaSetDevice(self.device), BackendUnavailableError)
        self.stream: Any = _check(self.rt.cudaStreamCreate(), BackendUnavailableError)
        self._ptrs: list[int] = []
        self._host_ptrs: list[int] = []
        self._graph: Any = None
        self._graph_exec: Any = None

    def device_facts(self) -> dict[str, Any]:
        """Name, compute capability, memory and ``integrated`` of this device."""
        from mmnet_edge.artifacts.platform import gpu_facts

        return gpu_facts(self.device, cudart=self.rt)

    @contextlib.contextmanager
    def bind(self) -> Iterator[None]:
        """Make this device current on the calling thread (``cudaSetDevice`` is per thread)."""
        _check(self.rt.cudaSetDevice(self.device))
        yield

    def alloc(self, nbytes: int) -> int:
        ptr = int(_check(self.rt.cudaMalloc(max(int(nbytes), 1)), BackendUnavailableError))
        self._ptrs.append(ptr)
        return ptr

    def host_array(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A page-locked host array (faster, truly asynchronous copies)."""
        dtype = np.dtype(dtype)
        count = int(np.prod(shape))
        nbytes = max(count * dtype.itemsize, 1)
        ptr = int(_check(self.rt.cudaMallocHost(nbytes), BackendUnavailableError))
        self._host_ptrs.append(ptr)
        raw = (ctypes.c_byte * nbytes).from_address(ptr)
        return np.frombuffer(raw, dtype=dtype, count=count).reshape(shape)

    def to_device(self, ptr: int, host: np.ndarray) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        _check(self.rt.cudaMemcpyAsync(ptr, host.ctypes.data, host.nbytes, kind, self._live()))

    def to_host(self, host: np.ndarray, ptr: int) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        _check(self.rt.cudaMemcpyAsync(host.ctypes.data, ptr, host.nbytes, kind, self._live()))

    def _live(self) -> Any:
        if self.stream is None:
            raise BackendExecutionError("these CUDA buffers were destroyed; open a new runner")
        return self.stream

    @property
    def stream_handle(self) -> int:
        return int(self._live())

    def synchronize(self) -> None:
        _check(self.rt.cudaStreamSynchronize(self._live()))

    # CUDA graph of one enqueue (TensorRT: call execute_async_v3 once before capturing)
    def capture(self, enqueue: Any) -> None:
        """Capture what ``enqueue()`` puts on the stream into a replayable graph."""
        self.release_graph()
        mode = self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        _check(self.rt.cudaStreamBeginCapture(self._live(), mode))
        try:
            enqueue()
        finally:
            graph = _check(self.rt.cudaStreamEndCapture(self.stream))
        self._graph = graph
        self._graph_exec = _check(self.rt.cudaGraphInstantiateWithFlags(graph, 0))

    def replay(self) -> None:
        _check(self.rt.cudaGraphLaunch(self._graph_exec, self._live()))

    def release_graph(self) -> None:
        if self._graph_exec is not None:
            self.rt.cudaGraphExecDestroy(self._graph_exec)
            self._graph_exec = None
        if self._graph is not None:
            self.rt.cudaGraphDestroy(self._graph)
            self._graph = None

    def free(self) -> None:
        """Release every allocation (and graph); the stream stays usable."""
        self.release_graph()
        for ptr in self._ptrs:
            self.rt.cudaFree(ptr)
        self._ptrs.clear()
        for ptr in self._host_ptrs:
            self.rt.cudaFreeHost(ptr)
        self._host_ptrs.clear()

    def destroy(self) -> None:
        """Free everything and destroy the stream (idempotent; the object is spent)."""
        self.free()
        if self.stream is not None:
            self.rt.cudaStreamDestroy(self.stream)
            self.stream = None


def _import_pycuda_driver() -> Any:
    try:
        import pycuda.driver as drv
    except ImportError as exc:
        raise BackendUnavailableError(
            "pycuda is not installed: pip install 'mmnet-edge[pycuda]' (or use cuda-python, "
            "'mmnet-edge[tensorrt]')"
        ) from exc
    return drv


class PyCudaBuffers:
    """The same interface over pycuda, in the device's primary context (no CUDA graphs).

    The primary context is the one the CUDA runtime — and so TensorRT — uses; it is
    retained here and pushed only around each call (:meth:`bind`), so any thread can run.
    ``driver`` may be injected (tests); by default ``pycuda.driver`` is imported.
    """

    name = "pycuda"
    supports_graphs = False

    def __init__(self, device: int = 0, driver: Any = None) -> None:
        drv = driver if driver is not None else _import_pycuda_driver()
        drv.init()
        self.drv = drv
        self.device = int(device)
        if self.device >= drv.Device.count():
            raise BackendUnavailableError(
                f"CUDA device {self.device} does not exist here ({drv.Device.count()} visible)"
            )
        self._ctx: Any = drv.Device(self.device).retain_primary_context()
        with self.bind():
            self.stream: Any = drv.Stream()
        self._allocs: list[Any] = []
        self._host: list[Any] = []

    @contextlib.contextmanager
    def bind(self) -> Iterator[None]:
        """Push the primary context on this thread for the duration of the block."""
        if self._ctx is None:
            raise BackendExecutionError("these CUDA buffers were destroyed; open a new runner")
        self._ctx.push()
        try:
            yield
        finally:
            self.drv.Context.pop()

    def device_facts(self) -> dict[str, Any]:
        dev = self.drv.Device(self.device)
        major, minor = dev.compute_capability()
        facts: dict[str, Any] = {
            "name": str(dev.name()),
            "compute_capability": f"{major}.{minor}",
            "total_memory_mib": int(dev.total_memory()) >> 20,
            "device": self.device,
        }
        if dev.get_attribute(self.drv.device_attribute.INTEGRATED):
            facts["integrated"] = True
        return facts

    def alloc(self, nbytes: int) -> int:
        with self.bind():
            mem = self.drv.mem_alloc(max(int(nbytes), 1))
        self._allocs.append(mem)
        return int(mem)

    def host_array(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        with self.bind():
            arr = self.drv.pagelocked_empty(shape, dtype)
        self._host.append(arr)
        return arr

    def to_device(self, ptr: int, host: np.ndarray) -> None:
        with self.bind():
            self.drv.memcpy_htod_async(ptr, host, self._live())

    def to_host(self, host: np.ndarray, ptr: int) -> None:
        with self.bind():
            self.drv.memcpy_dtoh_async(host, ptr, self._live())

    def _live(self) -> Any:
        if self.stream is None:
            raise BackendExecutionError("these CUDA buffers were destroyed; open a new runner")
        return self.stream

    @property
    def stream_handle(self) -> int:
        return int(self._live().handle)

    def synchronize(self) -> None:
        with self.bind():
            self._live().synchronize()

    def free(self) -> None:
        """Release every allocation; the stream stays usable."""
        if self._ctx is None:
            return
        with self.bind():
            for mem in self._allocs:
                mem.free()
            for arr in self._host:
                base = getattr(arr, "base", None)
                if base is not None and hasattr(base, "free"):
                    base.free()
        self._allocs.clear()
        self._host.clear()

    def destroy(self) -> None:
        """Free everything, drop the stream and the primary-context reference (idempotent)."""
        if self._ctx is None:
            return
        self.free()
        self.stream = None
        self._ctx = None


def open_buffers(prefer: str | None = None, device: int = 0) -> CudaPythonBuffers | PyCudaBuffers:
    """cuda-python if installed (or ``prefer='pycuda'``), else the other; raises
    BackendUnavailableError when neither is importable."""
    if prefer not in (None, "cuda-python", "pycuda"):
        raise BackendUnavailableError(f"buffers must be 'cuda-python' or 'pycuda', not {prefer!r}")
    order = ["pycuda", "cuda-python"] if prefer == "pycuda" else ["cuda-python", "pycuda"]
    if prefer is not None:
        order = order[:1]  # an explicit choice is honoured, not silently swapped
    errors = []
    for name in order:
        try:
            return CudaPythonBuffers(device) if name == "cuda-python" else PyCudaBuffers(device)
        except (ImportError, BackendUnavailableError) as exc:
            if "not installed" not in str(exc) and not isinstance(exc, ImportError):
                raise
            errors.append(f"{name}: {exc}")
    raise BackendUnavailableError(
        "no CUDA buffer library: pip install 'mmnet-edge[tensorrt]' (cuda-python) or "
        f"'mmnet-edge[pycuda]' ({'; '.join(errors)})"
    )
