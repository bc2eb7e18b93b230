"""TensorRT backend: a native ``.engine`` + its ``.engine.json`` sidecar.

Written against the name-based I/O API present in TensorRT 8.6, 10.x and 11.x
(``num_io_tensors``, ``get_tensor_name``, ``set_input_shape``, ``set_tensor_address``,
``execute_async_v3``). Device buffers via cuda-python or pycuda. Not runnable on the
CPU-only CI machines: its tests skip there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.errors import BackendUnavailableError, EngineCompatibilityError, InputError
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.runtime.runner import BaseRunner


class TrtRunner(BaseRunner):
    backend = "tensorrt"

    def __init__(
        self, path: str | os.PathLike[str], device: str | None = None, buffers: str | None = None
    ) -> None:
        from mmnet_edge.export.tensorrt import (
            check_engine_compatibility,
            gpu_facts,
            import_tensorrt,
            read_sidecar,
        )
        from mmnet_edge.runtime.cuda_buffers import open_buffers

        trt = import_tensorrt()
        path = Path(path)
        manifest = read_sidecar(path)
        gpu = gpu_facts()
        if not gpu:
            raise BackendUnavailableError("TensorRT engine needs a CUDA device; none is visible")
        check_engine_compatibility(manifest, str(trt.__version__), gpu)
        meta = ModelMetadata.from_dict(manifest["metadata"])
        super().__init__(meta, device or "cuda:0", str(manifest.get("precision", meta.precision)))
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self._engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if self._engine is None:
            raise EngineCompatibilityError(
                f"{path}: TensorRT {trt.__version__} could not deserialize this engine (built "
                f"with {manifest.get('tensorrt_version')} on {manifest.get('gpu')}); rebuild it "
                "on this machine with `mmnet-edge export`"
            )
        self._context = self._engine.create_execution_context()
        profile = manifest.get("profile", {})
        self._max_batch = int(profile.get("max", 1))
        self._buffers = open_buffers(buffers)
        self._names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        self._dev: dict[str, int] = {}
        self._capacity = 0
        self._trt = trt

    @property
    def max_batch(self) -> int | None:
        return self._max_batch

    def _ensure(self, batch: int) -> None:
        if batch <= self._capacity:
            return
        s = self.input_size
        n_classes = self.metadata.config.num_classes
        self._buffers.free()
        self._dev = {
            "onset": self._buffers.alloc(self._max_batch * 3 * s * s * 4),
            "apex": self._buffers.alloc(self._max_batch * 3 * s * s * 4),
            "logits": self._buffers.alloc(self._max_batch * n_classes * 4),
        }
        for name in self._names:
            if name not in self._dev:
                raise EngineCompatibilityError(f"unexpected engine tensor {name!r}")
            self._context.set_tensor_address(name, self._dev[name])
        self._capacity = self._max_batch

    def _run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        batch = onset.shape[0]
        self._ensure(batch)
        for name, arr in (("onset", onset), ("apex", apex)):
            self._context.set_input_shape(name, tuple(arr.shape))
            self._buffers.to_device(self._dev[name], arr)
        out = np.empty((batch, self.metadata.config.num_classes), np.float32)
        if not self._context.execute_async_v3(self._buffers.stream_handle):
            raise InputError("TensorRT execution failed (see the TensorRT log)")
        self._buffers.to_host(out, self._dev["logits"])
        self._buffers.synchronize()
        return out

    def _release(self) -> None:
        self._buffers.free()
        self._context: Any = None
        self._engine: Any = None
