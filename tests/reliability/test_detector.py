"""Detector models that are not YuNet fail at construction with a typed error (and in
``doctor``); a good one loads without OpenCV's setPreferableTarget warning."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

from mmnet_edge import Runtime
from mmnet_edge.align import YuNetDetector
from mmnet_edge.cli import cli
from mmnet_edge.errors import DetectorUnavailableError


def relu_onnx(path: Path) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 64, 64])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.fixture(params=["relu graph", "mmnet model", "garbage", "empty", "folder"])
def not_yunet(request, tmp_path, tiny_onnx) -> Path:
    kind = request.param
    if kind == "relu graph":
        return relu_onnx(tmp_path / "relu.onnx")
    if kind == "mmnet model":
        return tiny_onnx
    if kind == "folder":
        (tmp_path / "dir.onnx").mkdir()
        return tmp_path / "dir.onnx"
    path = tmp_path / f"{kind}.onnx"
    path.write_bytes(b"not a model at all" if kind == "garbage" else b"")
    return path


def test_non_yunet_detector_fails_at_construction(not_yunet, tiny_onnx):
    with pytest.raises(DetectorUnavailableError, match="YuNet|not found"):
        YuNetDetector(not_yunet)
    with pytest.raises(DetectorUnavailableError):
        Runtime(tiny_onnx, detector=str(not_yunet))


def test_doctor_reports_a_non_yunet_detector_as_failing(tmp_path):
    bad = relu_onnx(tmp_path / "relu.onnx")
    res = CliRunner().invoke(cli, ["doctor", "--json", "--detector", str(bad)])
    checks = {c["name"]: c for c in json.loads(res.output)["checks"]}
    assert checks["face detector"]["ok"] is False
    assert "not a YuNet" in checks["face detector"]["detail"]


def test_doctor_passes_a_real_detector(detector_model_path):
    res = CliRunner().invoke(cli, ["doctor", "--json", "--detector", str(detector_model_path)])
    checks = {c["name"]: c for c in json.loads(res.output)["checks"]}
    assert checks["face detector"]["ok"] is True


def test_aligning_runtime_prints_no_opencv_warning(tiny_onnx, detector_model_path, capfd):
    capfd.readouterr()
    for _ in range(2):
        with Runtime(tiny_onnx, detector=str(detector_model_path)) as rt:
            assert rt.align
    err = capfd.readouterr().err
    assert "setPreferableTarget" not in err, err
