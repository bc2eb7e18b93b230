"""The TensorRT lint of ONNX graphs against onnx-tensorrt's operator tables (8.6-GA, 10.x-GA)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from mmnet_edge.errors import ExportError
from mmnet_edge.export import trt_lint
from mmnet_edge.export.trt_lint import (
    LintFinding,
    available_versions,
    lint_onnx,
    load_table,
    raise_on_findings,
    warning_lines,
)

ROOT = Path(__file__).resolve().parents[1]
BOTH = ("8.6", "10")


def model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def fvi(name, shape=(1, 4), t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, list(shape))


def errors_of(findings):
    return [f for f in findings if f.severity == "error"]


# ------------------------------------------------------------------------- the tables


def test_tables_hold_the_facts_of_both_branches():
    assert available_versions() == ["8.6", "10.1"]
    t86, t10 = load_table("8.6"), load_table("10")
    assert t10.version == "10.1"  # "10" resolves to the newest 10.x table
    assert (t86.opset_max, t10.opset_min, t10.opset_max) == (17, 9, 20)
    assert t86.casts == {"INT64": "INT32", "DOUBLE": "FLOAT"}
    assert t86.ops["DequantizeLinear"]["types"] == ["INT8"]
    assert set(t10.ops["DequantizeLinear"]["types"]) == {"INT8", "INT4", "FLOAT8E4M3FN"}
    assert "zero" in t86.ops["DequantizeLinear"]["notes"]
    assert t86.ops["LayerNormalization"]["supported"]
    assert not t86.ops["DFT"]["supported"]
    for t in (t86, t10):
        assert t.source["repo"] == "onnx/onnx-tensorrt" and len(t.source["commit"]) == 40


def test_unknown_version_is_a_typed_error():
    with pytest.raises(ExportError, match="extract_onnx_trt_ops"):
        load_table("7.2")


def test_extractor_reads_a_checked_out_page(tmp_path, monkeypatch):
    page = tmp_path / "operators.md"
    page.write_text(
        "TensorRT 9.9 supports operators in the inclusive range of opset 9 to opset 19.\n"
        "> Note: TensorRT will attempt to cast DOUBLE down to FLOAT.\n\n"
        "| Operator | Supported | Supported Types | Restrictions |\n"
        "|----------|-----------|-----------------|--------------|\n"
        "| Conv     | Y         | FP32, FP16, BF16 | 2D or 3D<br />only |\n"
        "| DFT      | N         |\n"
    )
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import extract_onnx_trt_ops as ex
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    parsed = ex.parse_operators_md(page.read_text())
    assert parsed["opset"] == {"min": 9, "max": 19}
    assert parsed["casts"] == {"DOUBLE": "FLOAT"}
    assert parsed["ops"] == {
        "Conv": {
            "supported": True,
            "types": ["BFLOAT16", "FLOAT", "FLOAT16"],
            "notes": "2D or 3D; only",
        },
        "DFT": {"supported": False, "types": [], "notes": ""},
    }


def test_common_op_list_is_generated_from_the_tables():
    common = set.intersection(
        *(
            {op for op, row in load_table(v).ops.items() if row["supported"]}
            for v in available_versions()
        )
    )
    text = (ROOT / "mmnet_edge/export/data/trt_onnx_ops.txt").read_text()
    listed = {ln for ln in text.splitlines() if ln and not ln.startswith("#")}
    assert listed == common


# ------------------------------------------------------------------ each finding


def test_clean_graph_passes_both_versions():
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    m = model(
        [
            helper.make_node("MatMul", ["x", "w"], ["y"], name="mm"),
            helper.make_node("Relu", ["y"], ["z"], name="relu"),
        ],
        [fvi("x")],
        [fvi("z")],
        [w],
    )
    assert lint_onnx(m, BOTH) == []


def test_unsupported_op_is_named():
    m = model(
        [helper.make_node("Det", ["x"], ["y"], name="the_det")], [fvi("x", (4, 4))], [fvi("y", ())]
    )
    found = lint_onnx(m, BOTH)
    assert [(f.version, f.node, f.op, f.severity) for f in found] == [
        ("8.6", "the_det", "Det", "error"),
        ("10.1", "the_det", "Det", "error"),
    ]
    assert "unsupported" in found[0].message


def test_custom_domain_op_is_flagged():
    node = helper.make_node("QLinearSigmoid", ["x"], ["y"], name="ms", domain="com.microsoft")
    m = model([node], [fvi("x")], [fvi("y")])
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    found = errors_of(lint_onnx(m, ("10",)))
    assert [f.node for f in found] == ["ms"] and "plugin" in found[0].message


def qdq_graph(dq_dtype, zp_value=0, with_bias_dq=False):
    """x → Q → DQ → Conv(weight DQ) [+ an INT32 bias DQ, as ORT's QuantizeBias writes]."""
    f32 = np.float32
    inits = [
        numpy_helper.from_array(np.array(0.1, f32), "s"),
        numpy_helper.from_array(np.array(zp_value, np.int8), "zp"),
        numpy_helper.from_array(np.ones((2, 1, 1, 1), np.int8), "wq"),
        numpy_helper.from_array(np.full((2,), 0.05, f32), "ws"),
        numpy_helper.from_array(np.zeros((2,), np.int8), "wzp"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["xq"], name="q_x"),
        helper.make_node("DequantizeLinear", ["xq", "s", "zp"], ["xd"], name="dq_x"),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wzp"], ["w"], name="dq_w", axis=0),
    ]
    conv_in = ["xd", "w"]
    if with_bias_dq:
        inits += [
            numpy_helper.from_array(np.array([3, -2], dq_dtype), "bq"),
            numpy_helper.from_array(np.full((2,), 0.005, f32), "bs"),
            numpy_helper.from_array(np.zeros((2,), dq_dtype), "bzp"),
        ]
        nodes.append(helper.make_node("DequantizeLinear", ["bq", "bs", "bzp"], ["b"], name="dq_b"))
        conv_in.append("b")
    nodes.append(helper.make_node("Conv", conv_in, ["y"], name="conv"))
    return model(nodes, [fvi("x", (1, 1, 4, 4))], [fvi("y", (1, 2, 4, 4))], inits)


def test_symmetric_int8_qdq_passes():
    assert lint_onnx(qdq_graph(np.int8, with_bias_dq=True), BOTH) == []


def test_int32_bias_dequantize_is_flagged_for_every_version():
    found = lint_onnx(qdq_graph(np.int32, with_bias_dq=True), BOTH)
    assert [(f.version, f.node) for f in found] == [("8.6", "dq_b"), ("10.1", "dq_b")]
    assert all("INT32" in f.message and "QuantizeBias" in f.message for f in found)
    assert all(f.severity == "error" for f in found)


def test_non_zero_zero_point_is_flagged():
    found = lint_onnx(qdq_graph(np.int8, zp_value=3), ("10",))
    assert sorted(f.node for f in found) == ["dq_x", "q_x"]
    assert all("zero point" in f.message for f in found)


def test_zero_point_that_is_not_a_constant_is_flagged():
    m = qdq_graph(np.int8)
    m.graph.input.append(helper.make_tensor_value_info("zp_in", TensorProto.INT8, []))
    m.graph.node[0].input[2] = "zp_in"
    found = lint_onnx(m, ("8.6",))
    assert [f.node for f in found] == ["q_x"] and "not a constant" in found[0].message


def resize_graph(antialias):
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    node = helper.make_node(
        "Resize", ["x", "", "scales"], ["y"], name="up", mode="linear", antialias=antialias
    )
    return model([node], [fvi("x", (1, 1, 4, 4))], [fvi("y", (1, 1, 8, 8))], [scales], opset=18)


def test_antialias_resize_is_flagged():
    assert lint_onnx(resize_graph(0), ("10",)) == []
    found = lint_onnx(resize_graph(1), ("10",))
    assert [(f.node, f.op) for f in found] == [("up", "Resize")]
    assert "antialias" in found[0].message


def test_opset_too_new_is_flagged_per_version():
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r")], [fvi("x")], [fvi("y")], opset=18)
    found = lint_onnx(m, BOTH)
    assert [(f.version, f.node) for f in found] == [("8.6", "<graph>")]  # 10.x reads ≤ 20
    assert "opset 18" in found[0].message
    m21 = model([helper.make_node("Relu", ["x"], ["y"])], [fvi("x")], [fvi("y")], opset=21)
    assert {f.version for f in lint_onnx(m21, BOTH)} == {"8.6", "10.1"}


def test_element_type_outside_the_table_is_flagged_and_8_6_narrows_int64():
    # Abs on INT64: 10.x lists INT64; 8.6 narrows INT64 to INT32, which it lists.
    m = model(
        [helper.make_node("Abs", ["x"], ["y"], name="abs")],
        [fvi("x", t=TensorProto.INT64)],
        [fvi("y", t=TensorProto.INT64)],
    )
    assert lint_onnx(m, BOTH) == []
    # Softmax on INT32 is in neither table.
    m = model(
        [helper.make_node("Softmax", ["x"], ["y"], name="sm")],
        [fvi("x", t=TensorProto.INT32)],
        [fvi("y", t=TensorProto.INT32)],
    )
    found = lint_onnx(m, BOTH)
    assert [f.node for f in found] == ["sm", "sm"] and "INT32" in found[0].message


def test_raise_on_findings_names_the_nodes_and_warning_lines():
    found = lint_onnx(qdq_graph(np.int32, with_bias_dq=True), BOTH)
    with pytest.raises(ExportError, match="dq_b") as exc:
        raise_on_findings(found)
    assert "TensorRT 8.6" in str(exc.value) and "TensorRT 10.1" in str(exc.value)
    raise_on_findings([])  # nothing to raise
    warn = [LintFinding("8.6", "n", "Add", "type unknown", "warning")]
    raise_on_findings(warn)  # warnings alone do not fail
    with pytest.raises(ExportError):
        raise_on_findings(warn, include_warnings=True)
    assert warning_lines(found)[0].startswith("[error] TensorRT 8.6: dq_b (DequantizeLinear):")


def test_lint_reads_files_and_refuses_a_missing_one(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(resize_graph(1), str(path))
    assert [f.node for f in lint_onnx(path, ("10",))] == ["up"]
    with pytest.raises(ExportError, match="not found"):
        lint_onnx(tmp_path / "absent.onnx")


def test_module_imports_no_onnx_or_torch_at_import_time():
    code = (
        "import sys; import mmnet_edge.export.trt_lint; "
        "print(sorted(m for m in ('onnx', 'torch') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
    assert trt_lint.DEFAULT_VERSIONS == ("8.6", "10")


# ------------------------------------------------------------- the real exports


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    from mmnet_edge.export.onnx import export_onnx
    from mmnet_edge.export.precision import export_fp16

    out = tmp_path_factory.mktemp("lint")
    fp32 = export_onnx(tiny_checkpoint, out / "model.onnx").path
    fp16 = export_fp16(fp32, out / "model.fp16.onnx").path
    return fp32, fp16


@pytest.mark.slow
def test_exported_fp32_and_fp16_models_pass_both_tables(exported):
    for path in exported:
        found = lint_onnx(path, BOTH)
        assert found == [], "\n".join(warning_lines(found))


@pytest.mark.slow
def test_exported_int8_tensorrt_target_passes_both_tables(exported):
    from mmnet_edge.calibration.dataset import SmallCalibrationSetWarning
    from mmnet_edge.calibration.quantize import quantize_int8
    from mmnet_edge.calibration.sources import from_synthetic

    fp32, _ = exported
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCalibrationSetWarning)
        calib = from_synthetic(112, 2, 2, 0)
    (res,) = quantize_int8(fp32, calib, fp32.parent / "q", targets=("tensorrt",), method="minmax")
    found = lint_onnx(res.path, BOTH)
    assert found == [], "\n".join(warning_lines(found))


def test_json_tables_are_valid_package_data():
    for v in available_versions():
        raw = json.loads((ROOT / f"mmnet_edge/export/data/onnx_trt_ops_{v}.json").read_text())
        assert raw["tensorrt"] == v and len(raw["ops"]) > 150
        assert all(set(row) == {"supported", "types", "notes"} for row in raw["ops"].values())
