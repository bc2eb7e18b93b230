"""FP16 variant of the ONNX model, and the held-out inputs every variant is checked on.

* FP16: weights and activations in float16, FP32 inputs/outputs kept (for strongly
  typed TensorRT builds and ONNX Runtime GPU). ``onnxconverter_common.float16`` was seen
  to produce an invalid graph (a Cast type mismatch inside attention); ONNX Runtime's
  transformer converter with ``keep_io_types=True`` gives a valid one.
* INT8 Q/DQ variants come from :mod:`mmnet_edge.calibration.quantize`.

Every variant is compared with the FP32 model on ONNX Runtime CPU through the one
comparator (:func:`mmnet_edge.compare.compare`): top-1 agreement and probability error on
held-out synthetic subjects — not only an atol — before it replaces anything on disk.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from mmnet_edge.artifacts.files import atomic_path
from mmnet_edge.artifacts.metadata_io import file_sha256, read_onnx_metadata
from mmnet_edge.artifacts.onnx_graph import topological_sort
from mmnet_edge.artifacts.onnx_props import write_onnx_metadata as write_metadata
from mmnet_edge.compare import AGREEMENT_GATE, AgreementReport, compare, softmax
from mmnet_edge.errors import ExportError, ValidationError
from mmnet_edge.preprocess import heldout_batches

__all__ = [
    "AgreementReport",
    "VariantResult",
    "compare_variants",
    "export_fp16",
    "softmax",
    "topological_sort",
]


@dataclass
class VariantResult:
    path: Path
    precision: str
    agreement: AgreementReport | None
    seconds: float


def compare_variants(
    reference_onnx: Path,
    variant_onnx: Path,
    inputs: Sequence[tuple[np.ndarray, np.ndarray]],
    backend: str = "onnxruntime",
) -> AgreementReport:
    """The reference on ONNX Runtime CPU, the variant on ``backend`` (``onnxruntime`` or
    ``openvino``, CPU), compared on ``inputs`` (task level)."""
    from mmnet_edge.runtime.ort_runner import OrtRunner

    meta = read_onnx_metadata(reference_onnx)
    if backend == "openvino":
        from mmnet_edge.runtime.openvino_runner import OpenVinoRunner

        variant = OpenVinoRunner(variant_onnx)
    else:
        variant = OrtRunner(variant_onnx, device="cpu")
    with OrtRunner(reference_onnx, device="cpu") as ref, variant as var:
        return compare(ref, var, inputs, meta.class_names)


def export_fp16(
    onnx_fp32: Path,
    output: Path,
    *,
    validate: bool = True,
    min_agreement: float = AGREEMENT_GATE,
    max_prob_error: float = 0.02,
) -> VariantResult:
    """FP16 ONNX with FP32 I/O, validated against the FP32 model before it is written."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    t0 = time.perf_counter()
    onnx_fp32, output = Path(onnx_fp32), Path(output)
    meta = read_onnx_metadata(onnx_fp32)
    model = convert_float_to_float16(onnx.load(str(onnx_fp32)), keep_io_types=True)
    topological_sort(model.graph)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"FP16 conversion produced an invalid graph: {exc}") from exc
    meta.precision = "fp16"
    meta.extra = {**meta.extra, "source_onnx_sha256": file_sha256(onnx_fp32)}
    report = None
    with atomic_path(output) as tmp:
        onnx.save(model, str(tmp))
        write_metadata(tmp, meta)
        if validate:
            report = compare_variants(
                onnx_fp32,
                tmp,
                heldout_batches(meta),
            )
            if report.top1_agreement < min_agreement or report.max_prob_error > max_prob_error:
                raise ValidationError(
                    f"FP16 model disagrees with FP32: top-1 agreement {report.top1_agreement:.3f} "
                    f"(bar {min_agreement}), max prob error {report.max_prob_error:.4f} (bar "
                    f"{max_prob_error}); keep FP32 or check the model for overflow"
                )
    return VariantResult(output, "fp16", report, time.perf_counter() - t0)
