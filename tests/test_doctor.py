"""``mmnet-edge doctor`` reports the environment and what is missing."""

from __future__ import annotations

import importlib.util
import json

import pytest
from click.testing import CliRunner

from mmnet_edge.cli import cli


def test_doctor_json_reports_core_components():
    res = CliRunner().invoke(cli, ["doctor", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    checks = {c["name"]: c for c in d["checks"]}
    for name in ("python", "torch", "onnxruntime", "opencv", "tensorrt", "gpu", "face detector"):
        assert name in checks
    assert checks["onnxruntime"]["ok"] and "CPUExecutionProvider" in checks["onnxruntime"]["detail"]
    assert "export ONNX" in d["can_do"]


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT present")
def test_doctor_says_tensorrt_is_absent_and_what_to_do():
    res = CliRunner().invoke(cli, ["doctor"])
    assert res.exit_code == 0
    assert "mmnet-edge[tensorrt]" in res.output
    assert "TensorRT engines: TensorRT not installed" in res.output


def test_doctor_checks_a_given_detector_path(tmp_path):
    res = CliRunner().invoke(cli, ["doctor", "--json", "--detector", str(tmp_path / "no.onnx")])
    d = json.loads(res.output)
    det = next(c for c in d["checks"] if c["name"] == "face detector")
    assert det["ok"] is False
