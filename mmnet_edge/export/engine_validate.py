"""Validate a built engine against ONNX Runtime through the one comparator (GPU only)."""

from __future__ import annotations

from pathlib import Path

from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
from mmnet_edge.compare import AGREEMENT_GATE, AgreementReport, compare
from mmnet_edge.errors import ValidationError


def validate_engine(
    engine: Path, reference_onnx: Path, min_agreement: float = AGREEMENT_GATE
) -> AgreementReport:
    """Compare an engine with ONNX Runtime (FP32, CPU) on held-out synthetic pairs."""
    from mmnet_edge.preprocess import heldout_batches
    from mmnet_edge.runtime.loader import open_runner

    meta = read_onnx_metadata(reference_onnx)
    inputs = heldout_batches(meta)
    with (
        open_runner(engine, backend="tensorrt") as trt_r,
        open_runner(reference_onnx, backend="onnxruntime", device="cpu") as ort_r,
    ):
        rep = compare(ort_r, trt_r, inputs, meta.class_names)
    if rep.top1_agreement < min_agreement:
        raise ValidationError(
            f"{Path(engine).name} agrees with ONNX Runtime on only {rep.top1_agreement:.1%} of "
            f"held-out pairs (bar {min_agreement:.0%}); try --fp32 or a better calibration set"
        )
    return rep
