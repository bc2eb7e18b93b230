"""INT8 calibration: calibration sets, explicit Q/DQ quantization, legacy calibrator, report."""

from mmnet_edge._lazy import lazy_attributes
from mmnet_edge.calibration.dataset import (
    DEFAULT_SIZE,
    MIN_SIZE,
    CalibrationSet,
    SmallCalibrationSetWarning,
    load_calibration_set,
    save_calibration_set,
)
from mmnet_edge.calibration.sources import build_synthetic_set

# the quantizer needs onnx and onnxruntime's quantization tools: loaded on first use
__getattr__, __dir__ = lazy_attributes(
    __name__,
    globals(),
    {
        "QuantResult": "mmnet_edge.calibration.quantize",
        "quantize_int8": "mmnet_edge.calibration.quantize",
    },
)

__all__ = [
    "DEFAULT_SIZE",
    "MIN_SIZE",
    "CalibrationSet",
    "QuantResult",
    "SmallCalibrationSetWarning",
    "build_synthetic_set",
    "load_calibration_set",
    "quantize_int8",
    "save_calibration_set",
]
