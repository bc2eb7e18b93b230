"""Serving fleets of cameras: ``mmnet-edge serve`` (NVIDIA PyTriton) and its client.

``MMNetServer`` binds the mmnet-edge runner into the Triton Inference Server that PyTriton
bundles (models ``mmnet``, ``mmnet_pair``, ``mmnet_metadata``); ``Client(url)`` talks to it
with tritonclient and returns the same ``Prediction`` records as ``Runtime``. Both are the
``[serve]`` extra, imported on first use (``import mmnet_edge.serve`` needs neither).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmnet_edge.serve.client import Client
    from mmnet_edge.serve.server import MMNetServer, ServeSettings, serve

_LAZY = {
    "Client": "mmnet_edge.serve.client",
    "MMNetServer": "mmnet_edge.serve.server",
    "ServeSettings": "mmnet_edge.serve.server",
    "serve": "mmnet_edge.serve.server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = ["Client", "MMNetServer", "ServeSettings", "serve"]
