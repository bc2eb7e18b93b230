"""The ``mmnet-edge serve`` model functions run in this process, without PyTriton (the main
environment has none): what a request to ``mmnet_pair``/``mmnet`` gets back."""

from __future__ import annotations

from mmnet_edge import Runtime
from mmnet_edge.serve.replies import raise_reply


def in_process_server(model, **settings):
    """An MMNetServer whose functions run here: its runtime opened, and the pair model's gRPC
    hop into ``mmnet`` replaced by a direct call of the ``mmnet`` function."""
    from mmnet_edge.serve.server import MMNetServer, ServeSettings

    s = ServeSettings(**settings)
    server = MMNetServer(model, s)
    server._runtime = Runtime(model, backend="onnxruntime", align=s.align, detector=s.detector)
    tensors = server._tensor_function()

    def hop(onset, apex):
        (reply,) = tensors([{"onset": onset, "apex": apex}])
        raise_reply(reply["status"][0, 0], reply["error"][0, 0], "mmnet")
        return reply["logits"]

    server._run_through_tensor_model = hop
    return server
