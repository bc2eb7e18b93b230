"""Top-1 agreement of every measured case with the FP32 reference, on the gate's sets.

Each distinct model file × backend × device × precision is run once on the INT8 gate's
independent held-out synthetic sets (:data:`mmnet_edge.calibration.gate.GATE_SETS`; up to
``pairs`` of each) and compared with the reference case's logits through
:mod:`mmnet_edge.compare`. A case's agreement is its **worst set's** — the figure the
recommendation gates on, for INT8 and bf16 alike (a pooled figure hides a bad set). The
reference is the first FP32 case measured by ONNX Runtime, else torch, OpenVINO or TensorRT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mmnet_edge.errors import MMNetEdgeError

REFERENCE_ORDER = ("onnxruntime", "torch", "openvino", "tensorrt")


def _key(case: Any) -> tuple[str, str, str, bool, str]:
    return (case.backend, str(case.model), case.device, case.cuda_graph, case.precision)


def reference_case(cases: Sequence[Any]) -> Any | None:
    """The FP32 case whose logits every other case is compared with (None: no FP32 case)."""
    fp32 = [c for c in cases if c.precision == "fp32" and not c.cuda_graph]
    for backend in REFERENCE_ORDER:
        for c in fp32:
            if c.backend == backend:
                return c
    return None


def _subset(cs: Any, n: int) -> Any:
    """``n`` pairs of a gate set spread over it (every class and subject), or all of it."""
    from mmnet_edge.calibration.gate import LabelledSet

    if n >= len(cs):
        return cs
    idx = np.unique(np.linspace(0, len(cs) - 1, n).round().astype(int))
    return LabelledSet(cs.spec, cs.onset[idx], cs.apex[idx], cs.labels[idx], cs.class_names)


def measure_agreement(active: Sequence[Any], pairs: int) -> dict[str, Any] | None:
    """Set ``case.agreement`` on every active (open) case; returns the reference's facts.
    ``pairs``: at most this many pairs of each gate set."""
    from mmnet_edge.calibration.gate import gate_set_data
    from mmnet_edge.compare import collect_logits, compare_logits

    ref = reference_case(active)
    if ref is None or pairs < 1:
        return None
    meta = ref.runner.metadata
    sets = [_subset(cs, pairs) for cs in gate_set_data(meta)]
    info: dict[str, Any] = {
        "reference": f"{ref.backend}:{ref.precision}",
        "reference_model": ref.model.name,
        "pairs": sum(len(cs) for cs in sets),
        "sets": {cs.spec.name: len(cs) for cs in sets},
        "inputs": "the INT8 gate's independent held-out synthetic sets "
        "(mmnet_edge.calibration.gate.GATE_SETS); a case's agreement is its worst set's",
    }
    logits: dict[tuple[str, str, str, bool, str], list[np.ndarray]] = {}
    for c in [ref, *[c for c in active if c is not ref]]:
        key = _key(c)
        if key not in logits:
            try:
                logits[key] = [collect_logits(c.runner, cs.batches(8)) for cs in sets]
            except MMNetEdgeError as exc:  # e.g. non-finite logits: no agreement, say why
                c.agreement = {"top1_agreement": None, "error": f"{type(exc).__name__}: {exc}"}
                if c is ref:
                    return None
                continue
        reps = {
            cs.spec.name: compare_logits(r, g, meta.class_names)
            for cs, r, g in zip(sets, logits[_key(ref)], logits[key])
        }
        worst = min(reps, key=lambda name: reps[name].top1_agreement)
        c.agreement = {
            "top1_agreement": reps[worst].top1_agreement,
            "worst_set": worst,
            "per_set": {name: r.top1_agreement for name, r in reps.items()},
            "max_prob_error": max(r.max_prob_error for r in reps.values()),
            "max_abs_error": max(r.max_abs_error for r in reps.values()),
            "n": sum(r.n for r in reps.values()),
            "reference": info["reference"],
        }
    for c in active:
        c.agreement_info = info
    return info
