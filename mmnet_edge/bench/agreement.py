"""Top-1 agreement of every measured case with the FP32 reference, on held-out pairs.

Each distinct model file × backend × device is run once on the same held-out synthetic
subjects (:func:`mmnet_edge.runtime.autoselect.heldout_tensors`) and compared with the
reference case's logits through :mod:`mmnet_edge.compare` — the gate the recommendation
applies. The reference is the first FP32 case measured by ONNX Runtime, else torch,
OpenVINO or TensorRT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mmnet_edge.errors import MMNetEdgeError

REFERENCE_ORDER = ("onnxruntime", "torch", "openvino", "tensorrt")


def _key(case: Any) -> tuple[str, str, str, bool]:
    return (case.backend, str(case.model), case.device, case.cuda_graph)


def reference_case(cases: Sequence[Any]) -> Any | None:
    """The FP32 case whose logits every other case is compared with (None: no FP32 case)."""
    fp32 = [c for c in cases if c.precision == "fp32" and not c.cuda_graph]
    for backend in REFERENCE_ORDER:
        for c in fp32:
            if c.backend == backend:
                return c
    return None


def measure_agreement(active: Sequence[Any], pairs: int) -> dict[str, Any] | None:
    """Set ``case.agreement`` on every active (open) case; returns the reference's facts."""
    from mmnet_edge.compare import collect_logits, compare_logits
    from mmnet_edge.runtime.autoselect import heldout_tensors

    ref = reference_case(active)
    if ref is None or pairs < 1:
        return None
    meta = ref.runner.metadata
    inputs = heldout_tensors(meta, pairs)
    info = {
        "reference": f"{ref.backend}:{ref.precision}",
        "reference_model": ref.model.name,
        "pairs": 0,
        "inputs": "held-out synthetic pairs (subjects no training set contains: "
        "mmnet_edge.synth.heldout_pairs)",
    }
    logits: dict[tuple[str, str, str, bool], np.ndarray] = {}
    for c in [ref, *[c for c in active if c is not ref]]:
        key = _key(c)
        if key not in logits:
            try:
                logits[key] = collect_logits(c.runner, inputs)
            except MMNetEdgeError as exc:  # e.g. non-finite logits: no agreement, say why
                c.agreement = {"top1_agreement": None, "error": f"{type(exc).__name__}: {exc}"}
                if c is ref:
                    return None
                continue
        rep = compare_logits(logits[_key(ref)], logits[key], meta.class_names)
        c.agreement = {
            "top1_agreement": rep.top1_agreement,
            "max_prob_error": rep.max_prob_error,
            "max_abs_error": rep.max_abs_error,
            "n": rep.n,
            "reference": info["reference"],
        }
        info["pairs"] = rep.n
    for c in active:
        c.agreement_info = info
    return info
