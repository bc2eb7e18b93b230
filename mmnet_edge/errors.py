"""Typed exceptions raised across mmnet-edge.

Every error message says what went wrong *and* what to do next. Catch
:class:`MMNetEdgeError` to handle any SDK failure in one place.
"""

from __future__ import annotations


class MMNetEdgeError(Exception):
    """Base class of every error raised by mmnet-edge."""


class CheckpointError(MMNetEdgeError):
    """A checkpoint or weight file is missing, corrupt, or does not match the model."""


class ConfigError(MMNetEdgeError):
    """A model configuration is invalid or inconsistent."""


class DatasetError(MMNetEdgeError):
    """A dataset root, annotation file, frame or class map cannot be used."""


class AlignmentError(MMNetEdgeError):
    """Face alignment failed."""


class NoFaceError(AlignmentError):
    """No (large enough) face was found in a frame."""


class DetectorUnavailableError(AlignmentError):
    """The face detector model or library is not available."""


class ExportError(MMNetEdgeError):
    """Exporting or validating an ONNX model or TensorRT engine failed."""


class ValidationError(ExportError):
    """An exported model disagrees with its reference beyond the tolerance."""


class BackendUnavailableError(MMNetEdgeError):
    """An inference backend (or its library / device) is not installed or usable."""


class EngineCompatibilityError(MMNetEdgeError):
    """A TensorRT engine was built for another GPU, TensorRT version or model."""


class BackendExecutionError(MMNetEdgeError):
    """An inference backend failed while running (TensorRT enqueue, a CUDA copy): not the input."""


class CalibrationError(MMNetEdgeError):
    """A calibration set or INT8 quantization step cannot be used."""


class NonFiniteOutputError(MMNetEdgeError):
    """A model produced NaN or Inf logits (corrupt weights, or FP16/INT8 overflow)."""


class InputError(MMNetEdgeError, ValueError):
    """An input array, image, video or file has the wrong type, shape or content."""


class OutputError(MMNetEdgeError, OSError):
    """A result file or folder cannot be written (full disk, permissions, missing folder)."""


#: the artefact layer's name for the same error


__all__ = [
    "AlignmentError",
    "BackendExecutionError",
    "BackendUnavailableError",
    "CalibrationError",
    "CheckpointError",
    "ConfigError",
    "DatasetError",
    "DetectorUnavailableError",
    "EngineCompatibilityError",
    "ExportError",
    "InputError",
    "MMNetEdgeError",
    "NoFaceError",
    "NonFiniteOutputError",
    "OutputError",
    "ValidationError",
]
