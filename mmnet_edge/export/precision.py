"""Precision variants of the ONNX model and their task-level validation.

* FP16: weights and activations in float16, FP32 inputs/outputs kept (for strongly
  typed TensorRT builds and ONNX Runtime GPU). ``onnxconverter_common.float16`` was seen
  to produce an invalid graph (a Cast type mismatch inside attention); ONNX Runtime's
  transformer converter with ``keep_io_types=True`` gives a valid one.
* INT8 Q/DQ variants come from :mod:`mmnet_edge.calibration.quantize`.

Every variant is compared with the FP32 model on ONNX Runtime CPU with a task-level
check (top-1 agreement, probability error) on held-out inputs — not only an atol.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from mmnet_edge.errors import ExportError, ValidationError
from mmnet_edge.export.onnx import read_onnx_metadata, write_metadata


@dataclass
class AgreementReport:
    """Variant vs reference on the same inputs."""

    n: int
    top1_agreement: float
    max_prob_error: float
    mean_prob_error: float
    max_abs_logit_error: float

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass
class VariantResult:
    path: Path
    precision: str
    agreement: AgreementReport | None
    seconds: float


def topological_sort(graph: onnx.GraphProto) -> None:
    """Reorder ``graph.node`` so every input is produced before use (in place)."""
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending = list(graph.node)
    ordered: list[onnx.NodeProto] = []
    while pending:
        progressed = False
        rest = []
        for node in pending:
            if all(i in available for i in node.input):
                ordered.append(node)
                available.update(node.output)
                progressed = True
            else:
                rest.append(node)
        if not progressed:
            raise ExportError(f"graph has a cycle or dangling input near node {rest[0].name!r}")
        pending = rest
    del graph.node[:]
    graph.node.extend(ordered)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def compare_variants(
    reference_onnx: Path,
    variant_onnx: Path,
    inputs: Sequence[tuple[np.ndarray, np.ndarray]],
) -> AgreementReport:
    """Run both models on ONNX Runtime CPU and compare predictions (task level)."""
    import onnxruntime as ort

    ref = ort.InferenceSession(str(reference_onnx), providers=["CPUExecutionProvider"])
    var = ort.InferenceSession(str(variant_onnx), providers=["CPUExecutionProvider"])
    r_all, v_all = [], []
    for on, ap in inputs:
        r_all.append(ref.run(["logits"], {"onset": on, "apex": ap})[0])
        v_all.append(var.run(["logits"], {"onset": on, "apex": ap})[0].astype(np.float32))
    r, v = np.concatenate(r_all), np.concatenate(v_all)
    pr, pv = softmax(r.astype(np.float64)), softmax(v.astype(np.float64))
    perr = np.abs(pr - pv).max(-1)
    return AgreementReport(
        n=int(r.shape[0]),
        top1_agreement=float((r.argmax(-1) == v.argmax(-1)).mean()),
        max_prob_error=float(perr.max()),
        mean_prob_error=float(perr.mean()),
        max_abs_logit_error=float(np.abs(r - v).max()),
    )


def heldout_inputs(
    input_size: int, mean: Sequence[float], std: Sequence[float], n: int = 32, seed: int = 1234
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Held-out synthetic micro-motion pairs (subjects never used for training), batched by 8."""
    from mmnet_edge.data.synthetic import SyntheticConfig, generate_synthetic
    from mmnet_edge.preprocess import to_tensor

    per_class = max(1, n // 10)
    ds = generate_synthetic(
        SyntheticConfig(subjects=2, samples_per_class=per_class, image_size=input_size, seed=seed)
    )
    pairs = [s.load_pair() for s in ds.samples][:n]
    out = []
    for i in range(0, len(pairs), 8):
        chunk = pairs[i : i + 8]
        out.append(
            (
                to_tensor([p[0] for p in chunk], input_size, mean, std),
                to_tensor([p[1] for p in chunk], input_size, mean, std),
            )
        )
    return out


def export_fp16(
    onnx_fp32: Path,
    output: Path,
    *,
    validate: bool = True,
    min_agreement: float = 0.97,
    max_prob_error: float = 0.02,
) -> VariantResult:
    """FP16 ONNX with FP32 I/O, validated against the FP32 model on ORT CPU."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    t0 = time.perf_counter()
    meta = read_onnx_metadata(onnx_fp32)
    model = convert_float_to_float16(onnx.load(str(onnx_fp32)), keep_io_types=True)
    topological_sort(model.graph)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"FP16 conversion produced an invalid graph: {exc}") from exc
    output = Path(output)
    onnx.save(model, str(output))
    meta.precision = "fp16"
    write_metadata(output, meta)
    report = None
    if validate:
        report = compare_variants(
            onnx_fp32, output, heldout_inputs(meta.input_size, meta.mean, meta.std)
        )
        if report.top1_agreement < min_agreement or report.max_prob_error > max_prob_error:
            raise ValidationError(
                f"FP16 model disagrees with FP32: top-1 agreement {report.top1_agreement:.3f} "
                f"(bar {min_agreement}), max prob error {report.max_prob_error:.4f} (bar "
                f"{max_prob_error}); keep FP32 or check the model for overflow"
            )
    return VariantResult(output, "fp16", report, time.perf_counter() - t0)
