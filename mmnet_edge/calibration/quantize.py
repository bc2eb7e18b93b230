"""Explicit INT8: Q/DQ ONNX models for two targets, via ONNX Runtime static quantization.

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

Nodes matching ``keep_float`` stay in higher precision. Defaults per target
(``KEEP_FLOAT_BY_TARGET``), measured on tiny models trained on the synthetic set, 4
independent held-out sets each (``benchmarks/int8_robustness.py``, docs/calibration.md):

* both: the four 2→1-channel spatial-attention convolutions (quantized, agreement fell to
  0.40: their input is a channel mean/max and a sigmoid follows; < 0.1 % of the FLOPs);
* TensorRT target also: the whole stride-4 stage (stem, conv1, block 0). Their inputs are
  the motion image and heavy-tailed ReLU maps (median 0, max ≈ 15× the 99th percentile);
  quantized, agreement on held-out subjects fell to 0.90–0.97 with symmetric int8. Since
  0.5 also block 1 and the PC module's patch embedding (``TRT_05_FLOAT``): on weakly
  trained models (8 epochs) the 0.4 layout's worst held-out set fell to 0.92.
* CPU target (ONNX Runtime): only what measured sensitive *inside* that stage — block 0's
  residual Add, its ReLU and the attention product (the map every later block's attention
  multiplies; alone, its int8 Add flipped 17 of 480 held-out predictions of one model).
  The stem, conv1 and block 0's convolutions run in int8, the motion image quantized at
  the pixel step (:mod:`~mmnet_edge.calibration.motion_input`; with a calibrated step the
  int8 stem cost 1–2 points of agreement, with the pixel step none). 0.3 kept the stem
  float too; the int8 stem measured as fast on a quiet machine and ≈ 10 % faster under
  load (docs/calibration.md). Softmax is not a quantized op type (``FLOAT_SOFTMAX_OPS``).
* OpenVINO target: only the attention convolutions (OpenVINO folds the DQ/Q around block
  0's island into its int8 kernels, ONNX Runtime cannot); Softmax as on the CPU target.

Chosen on held-out seeds 5001–5004, reported on the standard ones (docs/calibration.md).
The CPU and OpenVINO targets also fuse the PC module's GELU into one kernel first
(:mod:`mmnet_edge.calibration.fusions`). 0.3's opt-in ``cpu_fast`` (the stem in int8 too)
became the default in 0.4; the flag was removed in 0.5.

Default calibration: percentile 99.999 % on the CPU targets, 99.99 % on the TensorRT target
(99.9 % and minmax were measured too; their worst held-out results were lower:
docs/calibration.md). Every INT8 file is then gated on independent held-out sets
(:mod:`~mmnet_edge.calibration.gate`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from mmnet_edge.artifacts.formats import INPUT_NAMES, INT8_TARGET_NAMES, INT8_TARGETS, variant_path
from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
from mmnet_edge.artifacts.onnx_props import write_onnx_metadata as write_metadata
from mmnet_edge.calibration.dataset import (
    CalibrationSet,
    check_compatible,
    from_synthetic,
    load_calibration_set,
)
from mmnet_edge.calibration.fusions import fuse_gelu
from mmnet_edge.calibration.motion_input import motion_consumers, motion_override
from mmnet_edge.errors import CalibrationError

log = logging.getLogger(__name__)


#: calibration methods whose ONNX Runtime calibrator keeps every sample's activations in
#: memory before building histograms (MinMax reduces as it goes)
HISTOGRAM_METHODS = ("percentile", "entropy")
#: memory the histogram calibrator may use for activations (also at most 1/4 of the RAM)
HISTOGRAM_MEMORY_BUDGET = 3 << 30


def activation_bytes_per_sample(model: Path | str) -> int:
    """Bytes of every float activation of one sample (from shape inference's value_info)."""
    graph = onnx.load(str(model), load_external_data=False).graph
    total = 0
    for vi in graph.value_info:
        tt = vi.type.tensor_type
        if tt.elem_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16):
            continue
        n = 1
        for d in tt.shape.dim[1:]:  # the batch dimension is per sample
            n *= d.dim_value if d.dim_value > 0 else 1
        total += n * (4 if tt.elem_type == onnx.TensorProto.FLOAT else 2)
    return total


def histogram_sample_limit(model: Path | str, available: int, limit: int | None) -> int | None:
    """How many calibration pairs a histogram calibration may use without exhausting RAM.

    ONNX Runtime's percentile/entropy calibrators hold every sample's activations before
    building histograms: about 110 MB a pair for the paper model, so 200 pairs needed more
    than 22 GB. Fewer pairs are used when needed, with a warning naming the numbers.
    """
    per_sample = max(activation_bytes_per_sample(model), 1)
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        ram = 16 << 30
    budget = min(HISTOGRAM_MEMORY_BUDGET, ram // 4)
    fits = max(16, budget // per_sample)
    wanted = available if limit is None else min(limit, available)
    if wanted <= fits:
        return limit
    warnings.warn(
        f"percentile/entropy calibration keeps every pair's activations in memory "
        f"({per_sample / 2**20:.0f} MiB a pair): using {fits} of {wanted} calibration pairs to "
        f"stay within {budget / 2**30:.1f} GiB (minmax uses all pairs at constant memory)",
        CalibrationMemoryWarning,
        stacklevel=3,
    )
    return fits


def matches_any(node_name: str, patterns: Sequence[str]) -> bool:
    """A node-name pattern matches as a substring, or as a prefix when it starts with "^"."""
    return any(
        node_name.startswith(p[1:]) if p.startswith("^") else p in node_name for p in patterns
    )


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


TARGETS = INT8_TARGET_NAMES
METHODS = ("minmax", "entropy", "percentile")
#: how the motion image (the stem's input) is quantized where the stem runs in int8
MOTION_STEPS = ("pixel", "calibrated")
DEFAULT_KEEP_FLOAT: tuple[str, ...] = ("/attention/",)
# MMNet's stride-4 stage: the convolutions most sensitive to int8 activations (see above).
#: "^" anchors a pattern at the start of the node name: "/blocks.0/" alone would also match
#: the PC module's first transformer block ("/pc/blocks.0/…")
EARLY_STAGE: tuple[str, ...] = ("^/stem/", "^/conv1/conv1.0/", "^/blocks.0/")
#: the stem convolution, whose input is the motion image itself (apex − onset: std ≈ 0.09,
#: range ≈ ±2.5, so 8 bits leave the subtle motion a handful of levels); ≈ 1 % of the FLOPs
STEM: tuple[str, ...] = ("^/stem/",)
#: block 0's residual sum, its ReLU and the attention product: the map the first spatial
#: attention reads (channel mean and max) and every later block's attention multiplies.
#: Quantized alone, its residual Add flipped 17 of 480 held-out predictions (one model)
BLOCK0_ISLAND: tuple[str, ...] = ("^/blocks.0/Add", "^/blocks.0/Relu_1", "^/blocks.0/Mul")
#: TensorRT target since 0.5: block 1, whose input (block 0's attention-weighted output) is
#: the most sensitive activation left — quantized alone it flipped up to 4 % of held-out
#: predictions of weakly trained models — and the PC module's patch embedding, whose input is
#: the onset image itself (≈ 0 FLOPs). 7.9 % of the paper model's FLOPs
TRT_05_FLOAT: tuple[str, ...] = ("^/blocks.1/", "^/pc/patch_embed/")
#: 0.2–0.4's TensorRT layout (benchmarks compare with it)
TRT_V04_KEEP_FLOAT: tuple[str, ...] = DEFAULT_KEEP_FLOAT + EARLY_STAGE
KEEP_FLOAT_BY_TARGET: dict[str, tuple[str, ...]] = {
    "tensorrt": DEFAULT_KEEP_FLOAT + EARLY_STAGE + TRT_05_FLOAT,
    "cpu": DEFAULT_KEEP_FLOAT + BLOCK0_ISLAND,
    # OpenVINO runs block 0's island and the stem fastest in int8, ONNX Runtime slower (its
    # attention reductions then read two dequantized copies): all int8 but the attention
    # convs, the motion image at the pixel step (motion_input.py)
    "openvino": DEFAULT_KEEP_FLOAT,
}
#: TensorRT target: 99.99 since 0.5 (with the wider float set, its worst selection set rose
#: from 0.975 to 0.988 on the weakest model; docs/calibration.md)
PERCENTILE_BY_TARGET = {"tensorrt": 99.99, "cpu": 99.999, "openvino": 99.999}
#: changes when a target's default layout (float set, op set, fusions) changes: the export
#: pipeline rebuilds an INT8 file whose recorded revision differs (0.3: the CPU target's
#: stride-4 convolutions int8, GELU fused; 0.4: an int8 stem — cpu_fast — quantizes the
#: motion image at the pixel step; 0.5: the TensorRT target keeps block 1 and the patch
#: embedding float, percentile 99.99)
LAYOUT_REVISION_BY_TARGET = {"tensorrt": "0.5", "cpu": "0.4", "openvino": "0.4"}
QUANTIZED_OPS = ("Conv", "MatMul", "Gemm")
#: op types with int8 kernels (or int8 pass-through) in ONNX Runtime's CPU provider
CPU_EXTRA_OPS = (
    "Add",
    "Mul",
    "MaxPool",
    "Relu",
    "Concat",
    "Softmax",
    "Reshape",
    "Transpose",
    "Gather",
    "Flatten",
    "Resize",
)
#: Softmax is not a quantized op type on the CPU targets (0.4): its output then takes the
#: next MatMul's calibrated range instead of the fixed [0, 1] ONNX Runtime's quantizer gives
#: Softmax (a finer step for attention probabilities that stay well below 1). ONNX Runtime
#: still fuses DQ→Softmax→Q into QLinearSoftmax; OpenVINO runs Softmax in float. Held-out
#: agreement equal or better on every set measured (docs/calibration.md)
FLOAT_SOFTMAX_OPS: tuple[str, ...] = QUANTIZED_OPS + tuple(
    op for op in CPU_EXTRA_OPS if op != "Softmax"
)
OPS_BY_TARGET: dict[str, tuple[str, ...]] = {
    "tensorrt": QUANTIZED_OPS,
    "cpu": FLOAT_SOFTMAX_OPS,
    "openvino": FLOAT_SOFTMAX_OPS,
}
#: 0.3's CPU layout (the stem float too, int8 Softmax): the reference the benchmarks compare with
CPU_V03_KEEP_FLOAT: tuple[str, ...] = DEFAULT_KEEP_FLOAT + STEM + BLOCK0_ISLAND
CPU_V03_OPS: tuple[str, ...] = QUANTIZED_OPS + CPU_EXTRA_OPS
#: GELU written out (x·(1+erf(x/√2))/2): always float on the CPU target, fused into one kernel
GELU_NODES: tuple[str, ...] = ("/mlp/Div", "/mlp/Erf", "/mlp/Add", "/mlp/Mul")
#: INT8 target → artefact format (file names derive from the FP32 file's stem)
TARGET_FORMATS = {t.name: t.format for t in INT8_TARGETS}


class CalibrationMemoryWarning(UserWarning):
    """A histogram calibration used fewer pairs to bound its memory."""


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


def nodes_matching(model_path: Path, patterns: Sequence[str]) -> list[str]:
    """Names of the graph's nodes containing any of ``patterns`` (e.g. ``/attention/``)."""
    model = onnx.load(str(model_path), load_external_data=False)
    return [n.name for n in model.graph.node if matches_any(n.name, patterns)]


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


FP16_BASE_OPSET = 19  # first opset whose QuantizeLinear/DequantizeLinear take float16 scales


def to_fp16_base(qdq_model: Path | str, output: Path | str) -> Path:
    """Float parts of a Q/DQ model → float16 (scales too, so DequantizeLinear feeds float16
    straight into the convolution), FP32 inputs/outputs kept; opset raised to 19."""
    from onnx import version_converter
    from onnxruntime.transformers.float16 import convert_float_to_float16

    from mmnet_edge.artifacts.onnx_graph import topological_sort

    model = onnx.load(str(qdq_model))
    if _default_opset(model) < FP16_BASE_OPSET:
        model = version_converter.convert_version(model, FP16_BASE_OPSET)
    model = convert_float_to_float16(model, keep_io_types=True)
    topological_sort(model.graph)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # noqa: BLE001
        raise CalibrationError(f"FP16-base conversion produced an invalid graph: {exc}") from exc
    onnx.save(model, str(output))
    return Path(output)


def _default_opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def tensorrt_qdq_problems(model_path: Path | str) -> list[str]:
    """What TensorRT's ONNX parsers (8.6, 10.x) would reject in a Q/DQ model: a
    Quantize/DequantizeLinear whose quantized side is not INT8, or a non-zero zero point."""
    from onnx import numpy_helper

    model = onnx.load(str(model_path))
    inits = {t.name: t for t in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    problems = []
    for n in model.graph.node:
        if n.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        if n.op_type == "DequantizeLinear" and n.input[0] in inits:
            dtype = inits[n.input[0]].data_type
            if dtype != onnx.TensorProto.INT8:
                name = onnx.TensorProto.DataType.Name(dtype)
                problems.append(f"{n.name}: DequantizeLinear of {name} (TensorRT takes INT8)")
        if len(n.input) < 3 or not n.input[2]:
            if n.op_type == "QuantizeLinear":  # no zero point → uint8 output
                problems.append(f"{n.name}: QuantizeLinear without an INT8 zero point (uint8)")
            continue
        zp = inits.get(n.input[2])
        if zp is None:
            src = producers.get(n.input[2])
            problems.append(f"{n.name}: zero point from {src.op_type if src else '?'} node")
            continue
        if zp.data_type != onnx.TensorProto.INT8:
            name = onnx.TensorProto.DataType.Name(zp.data_type)
            problems.append(f"{n.name}: {name} zero point (TensorRT takes INT8)")
        if np.any(numpy_helper.to_array(zp) != 0):
            problems.append(f"{n.name}: non-zero zero point")
    return problems


def zero_points(model_path: Path | str) -> dict[str, np.ndarray]:
    """Every Q/DQ node's zero-point initializer (name → values)."""
    from onnx import numpy_helper

    model = onnx.load(str(model_path))
    inits = {t.name: t for t in model.graph.initializer}
    out = {}
    for n in model.graph.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear") and len(n.input) > 2:
            zp = n.input[2]
            if zp in inits:
                out[zp] = numpy_helper.to_array(inits[zp])
    return out
