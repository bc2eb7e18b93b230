"""Device buffers and streams through cuda-python (preferred) or pycuda.

Only what TensorRT inference needs: allocate, copy host↔device asynchronously on a
stream, synchronize, free. Imported lazily; absent libraries raise
:class:`BackendUnavailableError` naming the extra to install.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mmnet_edge.errors import BackendUnavailableError


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
        raise BackendUnavailableError(f"CUDA runtime call failed with error {int(err)} ({err})")
    return values[0] if len(values) == 1 else values


class CudaPythonBuffers:
    """Buffers and a stream on device 0 via cuda-python's runtime API."""

    name = "cuda-python"

    def __init__(self) -> None:
        self.rt = _cudart()
        self.stream = _check(self.rt.cudaStreamCreate())
        self._ptrs: list[int] = []

    def alloc(self, nbytes: int) -> int:
        ptr = int(_check(self.rt.cudaMalloc(nbytes)))
        self._ptrs.append(ptr)
        return ptr

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

    def free(self) -> None:
        for ptr in self._ptrs:
            self.rt.cudaFree(ptr)
        self._ptrs.clear()
        if self.stream is not None:
            self.rt.cudaStreamDestroy(self.stream)
            self.stream = None


class PyCudaBuffers:
    """The same interface over pycuda (accepted alternative)."""

    name = "pycuda"

    def __init__(self) -> None:
        import pycuda.autoinit  # noqa: F401 - creates the context
        import pycuda.driver as drv

        self.drv = drv
        self.stream = drv.Stream()
        self._allocs: list[Any] = []

    def alloc(self, nbytes: int) -> int:
        mem = self.drv.mem_alloc(nbytes)
        self._allocs.append(mem)
        return int(mem)

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


def open_buffers(prefer: str | None = None) -> CudaPythonBuffers | PyCudaBuffers:
    """cuda-python if installed, else pycuda; BackendUnavailableError if neither."""
    order = ["cuda-python", "pycuda"] if prefer != "pycuda" else ["pycuda", "cuda-python"]
    errors = []
    for name in order:
        try:
            return CudaPythonBuffers() if name == "cuda-python" else PyCudaBuffers()
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise BackendUnavailableError(
        "no CUDA buffer library: pip install 'mmnet-edge[tensorrt]' (cuda-python) or "
        f"'mmnet-edge[pycuda]' ({'; '.join(errors)})"
    )
