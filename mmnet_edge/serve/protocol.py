"""The names a client and the server agree on: Triton models and their tensors.

One place for them (the server binds them, :class:`~mmnet_edge.serve.Client` calls them,
``export --format triton`` names its repository model after :data:`TENSOR_MODEL`).
"""

from __future__ import annotations

#: preprocessed N×3×S×S onset/apex tensors in, logits/probabilities out (dynamic batching)
TENSOR_MODEL = "mmnet"
#: one pair of encoded images or RGB pixels in, label/index/logits/probabilities/box out
PAIR_MODEL = "mmnet_pair"
#: the served model's metadata as JSON
METADATA_MODEL = "mmnet_metadata"
#: every reply of TENSOR_MODEL/PAIR_MODEL (per pair): ``status`` INT32 (200, or 400 for a bad
#: input) and ``error`` BYTES ("" or JSON type/message); see :mod:`mmnet_edge.serve.replies`
REPLY_OUTPUTS = ("status", "error")
#: what PAIR_MODEL returns, in order
PAIR_OUTPUTS = ("label", "index", "logits", "probabilities", "face_box", *REPLY_OUTPUTS)

__all__ = ["METADATA_MODEL", "PAIR_MODEL", "PAIR_OUTPUTS", "REPLY_OUTPUTS", "TENSOR_MODEL"]
