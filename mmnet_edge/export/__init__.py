"""Export: checkpoint → ONNX (FP32/FP16/INT8 variants) → TensorRT engines (``[train]`` extra).

``export_model(model, output, ExportSettings(...))`` is the pipeline behind
``mmnet-edge export``; submodules hold the steps (``onnx``, ``precision``,
``engine_options``/``engine_build``/``engine_validate``, ``profiles``, ``trt_lint``).
Imported lazily: ``import mmnet_edge.export`` loads neither torch nor onnx.
"""

from __future__ import annotations

from mmnet_edge._lazy import lazy_attributes

__all__ = ["ExportResult", "ExportSettings", "export_model"]

__getattr__, __dir__ = lazy_attributes(
    __name__, globals(), {n: "mmnet_edge.export.pipeline" for n in __all__}
)
