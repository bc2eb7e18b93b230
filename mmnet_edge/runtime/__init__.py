"""Inference runtime: runners (one per backend), ``Runtime``, apex spotting, streams.

Runners (:func:`open_runner`) take preprocessed tensors; :class:`~mmnet_edge.Runtime`
adds alignment, preprocessing and postprocessing on top of one. Nothing here imports
torch, TensorRT or CUDA libraries until a runner that needs them is activated.
"""

from mmnet_edge.artifacts.formats import resolve_onnx_variant
from mmnet_edge.runtime.backends import (
    BACKENDS,
    available_backends,
    canonical_backend,
    model_kind,
    onnx_variant_path,
    runner_class,
)
from mmnet_edge.runtime.loader import open_runner, resolve_device
from mmnet_edge.runtime.runner import BaseRunner, Runner, RunnerClosedError, run_chunked

__all__ = [
    "BACKENDS",
    "BaseRunner",
    "Runner",
    "RunnerClosedError",
    "available_backends",
    "canonical_backend",
    "model_kind",
    "onnx_variant_path",
    "open_runner",
    "resolve_device",
    "resolve_onnx_variant",
    "run_chunked",
    "runner_class",
]
