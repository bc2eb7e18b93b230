"""Model cost for roofline context, without torch when the model file records it.

``mmnet-edge export`` stores the count (:mod:`mmnet_edge.model.flops`, torch's
FlopCounterMode) in the metadata's ``extra["gflops_per_sample"]``; a runtime-only install
reads it from there. Without the record, the count needs torch (the ``[train]`` extra);
without either, GFLOP-based columns are left empty and the report says why.
"""

from __future__ import annotations

from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.model.flops import model_gflops, model_gflops_by_op
from mmnet_edge.runtime.runner import has_module

__all__ = ["gflops_for", "model_gflops", "model_gflops_by_op"]


def gflops_for(meta: ModelMetadata) -> tuple[float | None, dict[str, float], str]:
    """(GFLOPs per pair, split by operator, where the number came from)."""
    extra = meta.extra or {}
    if isinstance(extra.get("gflops_per_sample"), (int, float)):
        return (
            float(extra["gflops_per_sample"]),
            dict(extra.get("gflops_by_op") or {}),
            "recorded at export (torch FlopCounterMode)",
        )
    if has_module("torch"):
        return (
            model_gflops(meta.config),
            model_gflops_by_op(meta.config),
            "counted now (torch FlopCounterMode)",
        )
    return None, {}, "not recorded in the model file and torch is not installed"
