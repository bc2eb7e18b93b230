"""Inference runtime: backends (runners), ``Runtime``, apex spotting, streams."""

from mmnet_edge.runtime.loader import model_kind, onnx_variant_path, open_runner
from mmnet_edge.runtime.runner import BaseRunner, Runner

__all__ = ["BaseRunner", "Runner", "model_kind", "onnx_variant_path", "open_runner"]
