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


def calibration_batch(profile: tuple[int, int, int] | None, batch: int | None = None) -> int:
    """The batch the calibrator feeds: the calibration profile's opt batch (TensorRT
    calibrates at the profile's opt shape), else ``batch``, else 8."""
    if profile is not None:
        lo, opt, hi = (int(v) for v in profile)
        if batch is not None and batch != opt:
            raise CalibrationError(
                f"calibration batch {batch} differs from the profile's opt batch {opt} "
                f"(profile {lo},{opt},{hi}); drop the batch argument"
            )
        return opt
    return int(batch or 8)


def make_entropy_calibrator(
    cs: CalibrationSet,
    onnx_sha256: str,
    cache_dir: Path,
    batch: int | None = None,
    *,
    profile: tuple[int, int, int] | None = None,
    buffers: Any = None,
    device: int = 0,
    tensorrt: Any = None,
) -> Any:
    """An ``IInt8EntropyCalibrator2`` over ``cs``; CalibrationError on TensorRT 11+.

    ``profile`` (min, opt, max batch — the engine's, also set as the calibration profile by
    :func:`~mmnet_edge.export.engine_build.build_engine`) fixes the batch at its opt value.
    Device buffers are allocated at the first batch (none when TensorRT reads the cache
    instead), freed when the set is exhausted or the cache is written, and by
    :func:`free_calibrator`. ``buffers``/``tensorrt`` may be injected (tests).
    """
    from mmnet_edge.artifacts.platform import import_tensorrt
    from mmnet_edge.runtime.cuda_buffers import open_buffers

    trt = tensorrt if tensorrt is not None else import_tensorrt()
    base = getattr(trt, "IInt8EntropyCalibrator2", None)  # absent from TensorRT 11
    if base is None:
        raise CalibrationError(
            f"TensorRT {trt.__version__} has no implicit INT8 calibrators (removed in 11): use "
            "the Q/DQ model from `mmnet-edge export --int8 --calib CALIB.npz`"
        )
    size = calibration_batch(profile, batch)
    if len(cs) < size:
        raise CalibrationError(
            f"the calibration set has {len(cs)} pairs, fewer than one batch of {size}: build a "
            "larger set (`mmnet-edge calibrate build`)"
        )
    msg = (
        "implicit INT8 calibration (IInt8EntropyCalibrator2) is deprecated by TensorRT since "
        "10.1 and removed in 11; prefer the explicit Q/DQ model (model.int8.onnx)"
    )
    warnings.warn(msg, DeprecationWarning, stacklevel=2)
    log.warning(msg)
    cache = cache_path(cache_dir, onnx_sha256, cs.sha256(), str(trt.__version__))
    frames = {
        "onset": np.ascontiguousarray(cs.onset, dtype=np.float32),
        "apex": np.ascontiguousarray(cs.apex, dtype=np.float32),
    }

    class EntropyCalibrator(base):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            super().__init__()  # the pybind11 base must be initialised
            self.batch = size
            self.index = 0
            self.batches_fed = 0
            self.cache_file = cache
            self._buffers: Any = buffers
            self._owns_buffers = buffers is None
            self._dev: dict[str, int] | None = None

        def get_batch_size(self) -> int:
            return self.batch

        def get_batch(self, names: list[str]) -> list[int] | None:
            if self.index + self.batch > len(cs):
                _free(self)
                return None
            unknown = [n for n in names if n not in frames]
            if unknown:
                raise CalibrationError(f"the engine asks for inputs {unknown}; expected onset/apex")
            if self._dev is None:
                if self._buffers is None:
                    self._buffers = open_buffers(device=device)
                nbytes = self.batch * int(np.prod(cs.onset.shape[1:])) * 4
                with self._buffers.bind():
                    self._dev = {n: self._buffers.alloc(nbytes) for n in frames}
            sl = slice(self.index, self.index + self.batch)
            self.index += self.batch
            with self._buffers.bind():
                for name in names:
                    self._buffers.to_device(self._dev[name], frames[name][sl])
                self._buffers.synchronize()
            self.batches_fed += 1
            return [self._dev[n] for n in names]

        def read_calibration_cache(self) -> bytes | None:
            return cache.read_bytes() if cache.exists() else None

        def write_calibration_cache(self, data: Any) -> None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(bytes(data))
            _free(self)  # calibration is over

    return EntropyCalibrator()


def _free(cal: Any) -> None:
    buffers = cal._buffers
    if buffers is None:
        return
    if cal._dev is not None:
        buffers.free()
        cal._dev = None
    if cal._owns_buffers:
        buffers.destroy()
        cal._buffers = None


def free_calibrator(calibrator: Any) -> None:
    """Release a calibrator's device buffers (idempotent; safe after the build)."""
    _free(calibrator)
