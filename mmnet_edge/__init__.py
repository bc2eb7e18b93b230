"""mmnet-edge: MMNet micro-expression recognition, from training to edge deployment.

``import mmnet_edge`` is light: backends (ONNX Runtime, TensorRT, CUDA) load lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmnet_edge._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from mmnet_edge.runtime.runtime import Prediction, Runtime

__all__ = ["Prediction", "Runtime", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Runtime", "Prediction"):
        from mmnet_edge.runtime import runtime as _rt

        return getattr(_rt, name)
    raise AttributeError(f"module 'mmnet_edge' has no attribute {name!r}")
