"""Q/DQ graph utilities: the FP16 base graph for strongly typed TensorRT builds, and checks of
what TensorRT's ONNX parsers accept (INT8 quantized side, zero points 0)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from mmnet_edge.errors import CalibrationError

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
