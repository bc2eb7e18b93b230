"""Device buffers, pinned host buffers, streams and CUDA graphs for the TensorRT runner.

Two interchangeable implementations: cuda-python (``cuda.bindings.runtime``, or
``cuda.cudart`` in cuda-python < 12.6) — preferred — and pycuda. Only what TensorRT
inference needs: allocate, copy host↔device asynchronously on one stream, synchronise,
capture/replay a CUDA graph (cuda-python only), free. Imported lazily; absent libraries
raise :class:`BackendUnavailableError` naming the extra to install.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from mmnet_edge.errors import BackendUnavailableError


class DeviceBuffers(Protocol):
    """What :class:`~mmnet_edge.runtime.trt_runner.TrtRunner` needs from a CUDA library."""

    name: str
    supports_graphs: bool

    def device_facts(self) -> dict[str, str]: ...
    def alloc(self, nbytes: int) -> int: ...
    def host_array(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray: ...
    def to_device(self, ptr: int, host: np.ndarray) -> None: ...
    def to_host(self, host: np.ndarray, ptr: int) -> None: ...
    @property
    def stream_handle(self) -> int: ...
    def synchronize(self) -> None: ...
    def free(self) -> None: ...


def _cudart() -> Any:
    try:
        from cuda.bindings import runtime as cudart  # cuda-python ≥ 12.6
    except ImportError:
        from cuda import cudart  # older cuda-python
    return cudart


def _check(result: Any) -> Any:
    """cuda-python returns ``(err, *values)``; raise on a non-zero error."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise BackendUnavailableError(
            f"CUDA runtime call failed: {getattr(err, 'name', err)} ({int(err)}); check the "
            "driver (nvidia-smi) and that no other process holds all GPU memory"
        )
    if not values:
        return None
    return values[0] if len(values) == 1 else values


class CudaPythonBuffers:
    """Buffers, a stream and graphs on one device via cuda-python's runtime API."""

    name = "cuda-python"
    supports_graphs = True

    def __init__(self, device: int = 0) -> None:
        self.rt = _cudart()
        _check(self.rt.cudaSetDevice(device))
        self.device = device
        self.stream: Any = _check(self.rt.cudaStreamCreate())
        self._ptrs: list[int] = []
        self._host_ptrs: list[int] = []
        self._graph: Any = None
        self._graph_exec: Any = None

    def device_facts(self) -> dict[str, str]:
        """Name and compute capability of this device (for engine compatibility checks)."""
        prop = _check(self.rt.cudaGetDeviceProperties(self.device))
        name = prop.name.decode(errors="replace") if isinstance(prop.name, bytes) else prop.name
        cc = f"{prop.major}.{prop.minor}"
        return {"name": str(name).strip("\x00 "), "compute_capability": cc}

    def alloc(self, nbytes: int) -> int:
        ptr = int(_check(self.rt.cudaMalloc(max(int(nbytes), 1))))
        self._ptrs.append(ptr)
        return ptr

    def host_array(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A page-locked host array (faster, truly asynchronous copies)."""
        dtype = np.dtype(dtype)
        nbytes = max(int(np.prod(shape)) * dtype.itemsize, 1)
        ptr = int(_check(self.rt.cudaMallocHost(nbytes)))
        self._host_ptrs.append(ptr)
        import ctypes

        raw = (ctypes.c_byte * nbytes).from_address(ptr)
        return np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape))).reshape(shape)

    def to_device(self, ptr: int, host: np.ndarray) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        _check(self.rt.cudaMemcpyAsync(ptr, host.ctypes.data, host.nbytes, kind, self.stream))

    def to_host(self, host: np.ndarray, ptr: int) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        _check(self.rt.cudaMemcpyAsync(host.ctypes.data, ptr, host.nbytes, kind, self.stream))

    @property
    def stream_handle(self) -> int:
        return int(self.stream)

    def synchronize(self) -> None:
        _check(self.rt.cudaStreamSynchronize(self.stream))

    # CUDA graph of one enqueue (TensorRT: call execute_async_v3 once before capturing)
    def capture(self, enqueue: Any) -> None:
        """Capture what ``enqueue()`` puts on the stream into a replayable graph."""
        self.release_graph()
        mode = self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        _check(self.rt.cudaStreamBeginCapture(self.stream, mode))
        try:
            enqueue()
        finally:
            graph = _check(self.rt.cudaStreamEndCapture(self.stream))
        self._graph = graph
        self._graph_exec = _check(self.rt.cudaGraphInstantiateWithFlags(graph, 0))

    def replay(self) -> None:
        _check(self.rt.cudaGraphLaunch(self._graph_exec, self.stream))

    def release_graph(self) -> None:
        if self._graph_exec is not None:
            self.rt.cudaGraphExecDestroy(self._graph_exec)
            self._graph_exec = None
        if self._graph is not None:
            self.rt.cudaGraphDestroy(self._graph)
            self._graph = None

    def free(self) -> None:
        self.release_graph()
        for ptr in self._ptrs:
            self.rt.cudaFree(ptr)
        self._ptrs.clear()
        for ptr in self._host_ptrs:
            self.rt.cudaFreeHost(ptr)
        self._host_ptrs.clear()

    def destroy(self) -> None:
        self.free()
        if self.stream is not None:
            self.rt.cudaStreamDestroy(self.stream)
            self.stream = None


class PyCudaBuffers:
    """The same interface over pycuda (no CUDA-graph support here)."""

    name = "pycuda"
    supports_graphs = False

    def __init__(self, device: int = 0) -> None:
        import pycuda.driver as drv

        drv.init()
        self.drv = drv
        self.device = device
        self._ctx = drv.Device(device).retain_primary_context()
        self._ctx.push()
        self.stream = drv.Stream()
        self._allocs: list[Any] = []

    def device_facts(self) -> dict[str, str]:
        dev = self.drv.Device(self.device)
        major, minor = dev.compute_capability()
        return {"name": dev.name(), "compute_capability": f"{major}.{minor}"}

    def alloc(self, nbytes: int) -> int:
        mem = self.drv.mem_alloc(max(int(nbytes), 1))
        self._allocs.append(mem)
        return int(mem)

    def host_array(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        return self.drv.pagelocked_empty(shape, dtype)

    def to_device(self, ptr: int, host: np.ndarray) -> None:
        self.drv.memcpy_htod_async(ptr, host, self.stream)

    def to_host(self, host: np.ndarray, ptr: int) -> None:
        self.drv.memcpy_dtoh_async(host, ptr, self.stream)

    @property
    def stream_handle(self) -> int:
        return int(self.stream.handle)

    def synchronize(self) -> None:
        self.stream.synchronize()

    def free(self) -> None:
        for mem in self._allocs:
            mem.free()
        self._allocs.clear()

    def destroy(self) -> None:
        self.free()
        if self._ctx is not None:
            self._ctx.pop()
            self._ctx = None


def open_buffers(prefer: str | None = None, device: int = 0) -> CudaPythonBuffers | PyCudaBuffers:
    """cuda-python if installed (or ``prefer='pycuda'``), else the other; raises
    BackendUnavailableError when neither is importable."""
    if prefer not in (None, "cuda-python", "pycuda"):
        raise BackendUnavailableError(f"buffers must be 'cuda-python' or 'pycuda', not {prefer!r}")
    order = ["pycuda", "cuda-python"] if prefer == "pycuda" else ["cuda-python", "pycuda"]
    errors = []
    for name in order:
        try:
            return CudaPythonBuffers(device) if name == "cuda-python" else PyCudaBuffers(device)
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise BackendUnavailableError(
        "no CUDA buffer library: pip install 'mmnet-edge[tensorrt]' (cuda-python) or "
        f"'mmnet-edge[pycuda]' ({'; '.join(errors)})"
    )
