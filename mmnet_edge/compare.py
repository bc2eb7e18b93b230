"""One comparator: a reference and a candidate on the same inputs → :class:`AgreementReport`.

Used by ONNX export validation (PyTorch vs ONNX Runtime), FP16 and INT8 variant checks,
engine validation (ONNX Runtime vs TensorRT) and the calibration accuracy report. Anything
with ``run(onset, apex) -> N×C logits`` (a runner, or an adapter around a torch module) can
be compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

#: the top-1 agreement with the FP32 reference a reduced-precision model (INT8, bf16, FP16,
#: an engine) needs to be recommended or to pass validation
AGREEMENT_GATE = 0.97


class RunsPairs(Protocol):
    def run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray: ...


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (stable: max subtracted)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class AgreementReport:
    """Candidate vs reference on the same inputs."""

    n: int
    top1_agreement: float
    max_abs_error: float  #: max |candidate − reference| over all logits
    max_rel_error: float  #: max abs error / max |reference logit|
    max_prob_error: float  #: max over samples of the largest probability difference
    mean_prob_error: float
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    atol: float | None = None
    rtol: float | None = None
    within_tolerance: bool | None = None  #: every logit within atol + rtol·|ref| (if given)
    finite: bool = True  #: the candidate produced only finite logits

    @property
    def max_abs_logit_error(self) -> float:  # name used by earlier reports
        return self.max_abs_error

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_logits(
    reference: np.ndarray,
    candidate: np.ndarray,
    class_names: Sequence[str] | None = None,
    atol: float | None = None,
    rtol: float | None = None,
) -> AgreementReport:
    """Compare two N×C logit arrays (see :class:`AgreementReport`)."""
    ref = np.asarray(reference, dtype=np.float64)
    got = np.asarray(candidate, dtype=np.float64)
    if ref.shape != got.shape or ref.ndim != 2:
        raise ValueError(f"logit shapes differ or are not N×C: {ref.shape} vs {got.shape}")
    finite = bool(np.isfinite(got).all())
    err = np.abs(ref - got)
    perr = np.abs(softmax(ref) - softmax(got)).max(-1) if ref.size else np.zeros(0)
    ref_top, got_top = ref.argmax(-1), got.argmax(-1)
    names = list(class_names) if class_names is not None else [str(i) for i in range(ref.shape[1])]
    per_class = {}
    for i, name in enumerate(names):
        sel = ref_top == i
        if sel.any():
            per_class[name] = {
                "n": int(sel.sum()),
                "top1_agreement": float((got_top[sel] == i).mean()),
            }
    within = None
    if atol is not None or rtol is not None:
        a, r = atol or 0.0, rtol or 0.0
        within = finite and bool(np.all(err <= a + r * np.abs(ref)))
    return AgreementReport(
        n=int(ref.shape[0]),
        top1_agreement=float((ref_top == got_top).mean()) if ref.size else 1.0,
        max_abs_error=float(err.max()) if err.size else 0.0,
        max_rel_error=float(err.max() / max(np.abs(ref).max(), 1e-12)) if err.size else 0.0,
        max_prob_error=float(perr.max()) if perr.size else 0.0,
        mean_prob_error=float(perr.mean()) if perr.size else 0.0,
        per_class=per_class,
        atol=atol,
        rtol=rtol,
        within_tolerance=within,
        finite=finite,
    )


def collect_logits(
    runner: RunsPairs, inputs: Iterable[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Concatenated logits of ``runner`` over batches of (onset, apex), chunked to its max batch."""
    limit = getattr(runner, "max_batch", None)
    out = []
    for onset, apex in inputs:
        step = limit or onset.shape[0] or 1
        for i in range(0, onset.shape[0], step):
            out.append(np.asarray(runner.run(onset[i : i + step], apex[i : i + step])))
    return np.concatenate(out, axis=0)


def compare(
    reference: RunsPairs,
    candidate: RunsPairs,
    inputs: Sequence[tuple[np.ndarray, np.ndarray]],
    class_names: Sequence[str] | None = None,
    atol: float | None = None,
    rtol: float | None = None,
) -> AgreementReport:
    """Run both on ``inputs`` (batches of preprocessed onset/apex tensors) and compare."""
    return compare_logits(
        collect_logits(reference, inputs),
        collect_logits(candidate, inputs),
        class_names,
        atol,
        rtol,
    )
