"""INT8 calibration: calibration sets, explicit Q/DQ quantization, legacy calibrator, report."""

from mmnet_edge.calibration.dataset import (
    DEFAULT_SIZE,
    MIN_SIZE,
    CalibrationSet,
    SmallCalibrationSetWarning,
    build_synthetic_set,
    load_calibration_set,
    save_calibration_set,
)
from mmnet_edge.calibration.quantize import QuantResult, quantize_int8

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
