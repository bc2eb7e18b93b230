"""mmnet-edge: MMNet micro-expression recognition, from training to edge deployment.

``import mmnet_edge`` is light: backends (ONNX Runtime, TensorRT, CUDA) load lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmnet_edge._lazy import lazy_attributes
from mmnet_edge._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from mmnet_edge.runtime.runtime import Prediction, Runtime

__all__ = ["Prediction", "Runtime", "__version__"]


__getattr__, __dir__ = lazy_attributes(
    __name__,
    globals(),
    {"Runtime": "mmnet_edge.runtime.runtime", "Prediction": "mmnet_edge.runtime.prediction"},
)
