"""Export: checkpoint → ONNX (FP32/FP16/INT8 variants) → TensorRT engines (``[train]`` extra).

``export_model(model, output, ExportSettings(...))`` is the pipeline behind
``mmnet-edge export``; submodules hold the steps (``onnx``, ``precision``,
``engine_options``/``engine_build``/``engine_validate``, ``profiles``, ``trt_lint``).
Imported lazily: ``import mmnet_edge.export`` loads neither torch nor onnx.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ExportResult", "ExportSettings", "export_model"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mmnet_edge.export import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'mmnet_edge.export' has no attribute {name!r}")
