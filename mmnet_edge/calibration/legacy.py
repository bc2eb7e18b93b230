"""Legacy implicit INT8 calibration for TensorRT ≤ 10.x (DEPRECATED by TensorRT).

TensorRT deprecated implicit quantization with ``IInt8EntropyCalibrator2`` in 10.1 and
removed it in 11. Prefer the Q/DQ model (``model.int8.onnx``). This calibrator feeds the
*same* calibration set (same alignment and preprocessing) through device buffers, and
keeps a cache keyed by ONNX hash + calibration-set hash + TensorRT version, so a cache is
never reused for another model, set or TensorRT.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.calibration.dataset import CalibrationSet
from mmnet_edge.errors import CalibrationError

log = logging.getLogger(__name__)


def cache_path(directory: Path, onnx_sha256: str, calib_sha256: str, trt_version: str) -> Path:
    key = hashlib.sha256(f"{onnx_sha256}|{calib_sha256}|{trt_version}".encode()).hexdigest()
    return Path(directory) / f"int8-calib-{key[:24]}.cache"


def make_entropy_calibrator(
    cs: CalibrationSet, onnx_sha256: str, cache_dir: Path, batch: int = 8
) -> Any:
    """An ``IInt8EntropyCalibrator2`` over ``cs``; CalibrationError on TensorRT 11+."""
    from mmnet_edge.artifacts.platform import import_tensorrt
    from mmnet_edge.runtime.cuda_buffers import open_buffers

    trt = import_tensorrt()
    base = getattr(trt, "IInt8EntropyCalibrator2", None)  # absent from TensorRT 11
    if base is None:
        raise CalibrationError(
            f"TensorRT {trt.__version__} has no implicit INT8 calibrators (removed in 11): use "
            "the Q/DQ model from `mmnet-edge export --int8 --calib CALIB.npz`"
        )
    msg = (
        "implicit INT8 calibration (IInt8EntropyCalibrator2) is deprecated by TensorRT since "
        "10.1 and removed in 11; prefer the explicit Q/DQ model (model.int8.onnx)"
    )
    warnings.warn(msg, DeprecationWarning, stacklevel=2)
    log.warning(msg)
    cache = cache_path(cache_dir, onnx_sha256, cs.sha256(), str(trt.__version__))

    class EntropyCalibrator(base):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.buffers = open_buffers()
            self.batch = batch
            self.index = 0
            nbytes = batch * int(np.prod(cs.onset.shape[1:])) * 4
            self.dev = {"onset": self.buffers.alloc(nbytes), "apex": self.buffers.alloc(nbytes)}

        def get_batch_size(self) -> int:
            return self.batch

        def get_batch(self, names: list[str]) -> list[int] | None:
            if self.index + self.batch > len(cs):
                return None
            sl = slice(self.index, self.index + self.batch)
            self.index += self.batch
            for name, arr in (("onset", cs.onset[sl]), ("apex", cs.apex[sl])):
                self.buffers.to_device(self.dev[name], np.ascontiguousarray(arr))
            self.buffers.synchronize()
            return [self.dev[n] for n in names]

        def read_calibration_cache(self) -> bytes | None:
            return cache.read_bytes() if cache.exists() else None

        def write_calibration_cache(self, data: bytes) -> None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(bytes(data))

    return EntropyCalibrator()
