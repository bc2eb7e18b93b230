"""Explicit INT8: Q/DQ ONNX models for each INT8 target, via ONNX Runtime static quantization.

* **TensorRT target** (``model.int8.onnx``): int8 activations quantized *symmetrically*,
  per-channel symmetric int8 weights, every zero point 0, and **float biases** (ONNX Runtime's
  default INT32-bias ``DequantizeLinear`` is rejected by every TensorRT ONNX parser: 8.6 takes
  INT8 only, 10.x INT8/FP8/INT4; TensorRT fuses the float bias itself). Q/DQ only on the
  *inputs* of convolutions and matrix products, as TensorRT's placement guide recommends
  (outputs stay float, so TensorRT picks the fusions). Optionally with an **FP16 base graph**
  (``fp16_base=True``: everything outside Q/DQ in float16, FP32 I/O) for strongly typed
  TensorRT 10/11 builds, which otherwise run the non-quantized layers in FP32.
* **CPU target** (``model.int8-cpu.onnx``): uint8 activations, per-channel int8 weights (U8S8),
  INT32 biases — ONNX Runtime's QLinearConv fast path on x86 (VNNI) and ARM CPUs. Besides
  Conv/MatMul/Gemm it quantizes the ops ONNX Runtime's CPU provider runs in int8 between
  them (``CPU_EXTRA_OPS``: residual Add and attention Mul → QLinearAdd/QLinearMul, Concat,
  Softmax, uint8 MaxPool, Relu folded into the preceding requantization, Reshape/Transpose/
  Gather/Flatten/Resize passed through), so fewer float islands with a DQ/Q round trip
  remain. GELU's elementwise ops stay float (ONNX Runtime fuses them into one Gelu kernel)
  and the head's output stays float (QGemm with float output: quantizing the logits
  themselves flipped near-tie predictions).

Which nodes stay float, which op types are quantized and the calibration percentile, per
target, are in :mod:`mmnet_edge.calibration.int8_layout` (measured there). Every INT8 file
is then gated on independent held-out sets (:mod:`~mmnet_edge.calibration.gate`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from mmnet_edge.artifacts.formats import INPUT_NAMES, variant_path
from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
from mmnet_edge.artifacts.onnx_props import write_onnx_metadata as write_metadata
from mmnet_edge.calibration.dataset import CalibrationSet, check_compatible, load_calibration_set
from mmnet_edge.calibration.fusions import fuse_gelu
from mmnet_edge.calibration.histogram_memory import (
    HISTOGRAM_METHODS,
    histogram_sample_limit,
)
from mmnet_edge.calibration.int8_layout import (
    GELU_NODES,
    KEEP_FLOAT_BY_TARGET,
    LAYOUT_REVISION_BY_TARGET,
    METHODS,
    MOTION_STEPS,
    OPS_BY_TARGET,
    PERCENTILE_BY_TARGET,
    QUANTIZED_OPS,
    TARGET_FORMATS,
    TARGETS,
    matches_any,
    nodes_matching,
)
from mmnet_edge.calibration.motion_input import motion_consumers, motion_override
from mmnet_edge.calibration.qdq_graph import (
    tensorrt_qdq_problems,
    to_fp16_base,
)
from mmnet_edge.calibration.sources import from_synthetic
from mmnet_edge.errors import CalibrationError

log = logging.getLogger(__name__)


def _quietly(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    """Run ``fn`` with its stdout (ONNX Runtime's calibration progress prints) sent to the
    debug log, so it neither clutters the CLI's output nor corrupts piped JSON."""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            return fn(*args, **kwargs)
    finally:
        if buf.getvalue():
            log.debug("%s output:\n%s", getattr(fn, "__name__", fn), buf.getvalue())


class SyntheticCalibrationWarning(UserWarning):
    """INT8 was calibrated on the synthetic set instead of real data."""


@dataclass
class QuantResult:
    target: str
    path: Path
    method: str
    kept_float: list[str] = field(default_factory=list)
    calibration_sha256: str = ""
    seconds: float = 0.0
    percentile: float | None = None
    fp16_base: bool = False


def _reader(cs: CalibrationSet, limit: int | None):  # noqa: ANN202
    from onnxruntime.quantization import CalibrationDataReader

    n = len(cs) if limit is None else min(limit, len(cs))

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.i = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self.i >= n:
                return None
            sl = slice(self.i, self.i + 1)
            self.i += 1
            return dict(zip(INPUT_NAMES, (cs.onset[sl], cs.apex[sl])))

        def rewind(self) -> None:
            self.i = 0

    return Reader()


def _extra_options(target: str, percentile: float) -> dict[str, object]:
    """ONNX Runtime quantizer options for one target (see the module docstring)."""
    sym = target == "tensorrt"
    opts: dict[str, object] = {
        "ActivationSymmetric": sym,
        "WeightSymmetric": True,
        # TensorRT parsers take INT8 DequantizeLinear only: biases stay float (fused there);
        # ONNX Runtime's QLinearConv path on CPU needs them as INT32.
        "QuantizeBias": not sym,
        "CalibPercentile": percentile,
    }
    # TensorRT: Q/DQ on conv/matmul inputs only; CPU: the logits stay float (QGemm float out)
    opts["OpTypesToExcludeOutputQuantization"] = list(QUANTIZED_OPS) if sym else ["Gemm"]
    return opts


def quantize_target(
    onnx_fp32: Path,
    cs: CalibrationSet,
    output: Path,
    target: str,
    method: str = "minmax",
    keep_float: Sequence[str] | None = None,
    limit: int | None = None,
    include_only: Sequence[str] | None = None,
    percentile: float | None = None,
    fp16_base: bool = False,
    op_types: Sequence[str] | None = None,
    motion_step: str = "pixel",
) -> QuantResult:
    """One Q/DQ model. ``keep_float`` None → the target's default (``KEEP_FLOAT_BY_TARGET``);
    ``include_only`` (node-name patterns) quantizes just those nodes (per-layer sensitivity);
    ``percentile`` None → ``PERCENTILE_BY_TARGET``; ``fp16_base`` (TensorRT target only)
    converts everything outside the Q/DQ pairs to float16, keeping FP32 inputs/outputs;
    ``op_types`` None → ``OPS_BY_TARGET`` (the op types to quantize); ``motion_step``: where
    the motion image is quantized (an int8 stem), "pixel" gives it the pixel step
    (:mod:`~mmnet_edge.calibration.motion_input`), "calibrated" the calibrated range."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if target not in TARGETS:
        raise CalibrationError(f"target must be one of {TARGETS}, not {target!r}")
    if method not in METHODS:
        raise CalibrationError(f"calibration method must be one of {METHODS}, not {method!r}")
    if motion_step not in MOTION_STEPS:
        raise CalibrationError(f"motion_step must be one of {MOTION_STEPS}, not {motion_step!r}")
    if fp16_base and target != "tensorrt":
        raise CalibrationError("fp16_base is for the TensorRT target; the CPU target stays FP32")
    keep_float = KEEP_FLOAT_BY_TARGET[target] if keep_float is None else tuple(keep_float)
    percentile = PERCENTILE_BY_TARGET[target] if percentile is None else float(percentile)
    if not 90.0 <= percentile <= 100.0:
        raise CalibrationError(f"percentile must be in [90, 100], not {percentile}")
    t0 = time.perf_counter()
    meta = read_onnx_metadata(onnx_fp32)
    check_compatible(cs, meta)
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(onnx_fp32), str(pre), skip_symbolic_shape=True)
        # CPU target: one Gelu kernel instead of five float nodes (fusions.py)
        fused_gelu = fuse_gelu(pre) if target != "tensorrt" else 0
        ops = tuple(OPS_BY_TARGET[target] if op_types is None else op_types)
        pre_model = onnx.load(str(pre))
        all_nodes = [n.name for n in pre_model.graph.node if n.op_type in ops]
        kept = [n for n in all_nodes if matches_any(n, keep_float)]
        if include_only is not None:
            kept = sorted(
                set(all_nodes) - {n for n in all_nodes if matches_any(n, include_only)} | set(kept)
            )
        sym = target == "tensorrt"
        extra = _extra_options(target, percentile)
        motion = None
        if motion_step == "pixel":
            found = motion_override(pre_model, meta.std, sym)
            quantized = set(all_nodes) - set(kept)
            if found and quantized & set(motion_consumers(pre_model, found[1]["tensor"])):
                extra["TensorQuantOverrides"], motion = found
        if method in HISTOGRAM_METHODS:
            limit = histogram_sample_limit(pre, len(cs), limit)
        _quietly(
            quantize_static,
            str(pre),
            str(output),
            _reader(cs, limit),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8 if sym else QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=list(ops),
            nodes_to_exclude=kept + ([] if sym else nodes_matching(pre, GELU_NODES)),
            calibrate_method={
                "minmax": CalibrationMethod.MinMax,
                "entropy": CalibrationMethod.Entropy,
                "percentile": CalibrationMethod.Percentile,
            }[method],
            extra_options=extra,
        )
    if fp16_base:
        to_fp16_base(output, output)
    if sym:
        problems = tensorrt_qdq_problems(output)
        if problems:
            raise CalibrationError(
                "the TensorRT-target Q/DQ model is not parseable by TensorRT: "
                + "; ".join(problems[:5])
                + " — report this with your onnxruntime version"
            )
    meta.precision = "int8"
    meta.extra = {
        **meta.extra,
        "int8_target": target,
        "calibration_method": method,
        "calibration_percentile": percentile if method == "percentile" else None,
        "calibration_sha256": cs.manifest.get("sha256", cs.sha256()),
        "kept_float": kept,
        "quantized_op_types": list(ops),
        "fused_gelu": fused_gelu,
        "motion_input_quant": motion or "calibrated",
        "int8_layout_revision": LAYOUT_REVISION_BY_TARGET[target],
        "base_precision": "fp16" if fp16_base else "fp32",
    }
    write_metadata(output, meta)
    return QuantResult(
        target,
        output,
        method,
        kept,
        cs.manifest.get("sha256", ""),
        time.perf_counter() - t0,
        percentile if method == "percentile" else None,
        fp16_base,
    )


def quantize_int8(
    onnx_fp32: Path | str,
    calib: CalibrationSet | Path | str | None,
    output_dir: Path | str,
    targets: Sequence[str] = TARGETS,
    method: str = "percentile",
    keep_float: Sequence[str] | None = None,
    limit: int | None = None,
    percentile: float | None = None,
    fp16_base: bool = False,
) -> list[QuantResult]:
    """Write ``<stem>.int8.onnx`` (TensorRT), ``<stem>.int8-cpu.onnx`` (ONNX Runtime CPU)
    and/or ``<stem>.int8-openvino.onnx`` (OpenVINO CPU) next to each other in ``output_dir``
    (``<stem>`` from the FP32 file's name). Without ``calib`` the synthetic set is used —
    with a loud warning: calibrate on frames like the ones the deployment will see.
    ``keep_float`` and ``percentile`` None → each target's default; ``fp16_base`` applies
    to the TensorRT target only (FP16 base graph for strongly typed TensorRT 10/11 builds)."""
    onnx_fp32 = Path(onnx_fp32)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    meta = read_onnx_metadata(onnx_fp32)
    if calib is None:
        msg = (
            "no calibration set given: calibrating INT8 on the SYNTHETIC set. Ranges from "
            "synthetic faces may not fit real cameras — build a real one with "
            "`mmnet-edge calibrate build` and pass --calib"
        )
        warnings.warn(msg, SyntheticCalibrationWarning, stacklevel=2)
        log.warning(msg)
        cs = from_synthetic(meta.input_size)
    elif isinstance(calib, CalibrationSet):
        cs = calib
    else:
        cs = load_calibration_set(calib)
    return [
        quantize_target(
            onnx_fp32,
            cs,
            variant_path(output_dir / onnx_fp32.name, TARGET_FORMATS[t]),
            t,
            method,
            keep_float,
            limit,
            percentile=percentile,
            fp16_base=fp16_base and t == "tensorrt",
        )
        for t in targets
    ]
