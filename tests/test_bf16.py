"""bf16 as a CPU compute precision: the FP32 file with bfloat16 arithmetic (OpenVINO's
INFERENCE_PRECISION_HINT, torch autocast), offered only on CPUs with bf16 instructions."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mmnet_edge.artifacts import platform as plat
from mmnet_edge.artifacts.formats import onnx_candidates, resolve_onnx_variant
from mmnet_edge.errors import BackendUnavailableError, InputError
from mmnet_edge.runtime.openvino_runner import OpenVinoRunner
from mmnet_edge.runtime.ort_runner import OrtRunner
from mmnet_edge.runtime.torch_runner import TorchRunner

needs_bf16_cpu = pytest.mark.skipif(
    bool(plat.cpu_bf16_reason()), reason="this CPU has no bf16 instructions"
)
needs_openvino = pytest.mark.skipif(
    importlib.util.find_spec("openvino") is None, reason="OpenVINO not installed"
)


@pytest.fixture(scope="module")
def fp32_onnx(tiny_checkpoint, tmp_path_factory):
    from mmnet_edge.export.onnx import export_onnx

    return export_onnx(tiny_checkpoint, tmp_path_factory.mktemp("bf16") / "model.onnx").path


def _pairs(size: int, n: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    onset = rng.standard_normal((n, 3, size, size)).astype(np.float32)
    apex = (onset + 0.2 * rng.standard_normal(onset.shape)).astype(np.float32)
    return onset, apex


def test_bf16_reads_the_fp32_file(fp32_onnx):
    assert onnx_candidates(fp32_onnx, "bf16", "cpu") == onnx_candidates(fp32_onnx, "fp32", "cpu")
    assert resolve_onnx_variant(fp32_onnx, "bf16") == fp32_onnx


def test_bf16_is_refused_on_a_cpu_without_bf16_instructions(fp32_onnx, monkeypatch):
    monkeypatch.setattr(plat, "cpu_flags", lambda: ["avx2", "fma", "avx512f", "avx512_vnni"])
    assert "avx512_bf16" in plat.cpu_bf16_reason()
    assert "avx512_bf16" in OpenVinoRunner.supports("bf16", "cpu")
    assert OpenVinoRunner.supports("fp32", "cpu") == ""
    with pytest.raises(BackendUnavailableError, match="bf16 instructions"):
        OpenVinoRunner(fp32_onnx, precision="bf16")
    monkeypatch.setattr(plat, "cpu_flags", lambda: ["avx2", "amx_bf16"])
    assert plat.cpu_bf16_reason() == ""


def test_onnxruntime_has_no_bf16_and_says_where_to_go(fp32_onnx):
    with pytest.raises(BackendUnavailableError, match="OpenVINO"):
        OrtRunner(fp32_onnx, precision="bf16")


def test_bf16_needs_the_fp32_file(fp32_onnx, tmp_path):
    int8 = tmp_path / "model.int8-cpu.onnx"
    int8.write_bytes(fp32_onnx.read_bytes())
    if plat.cpu_bf16_reason():
        pytest.skip("this CPU has no bf16 instructions")
    with pytest.raises(InputError, match="holds a int8 model"):
        OpenVinoRunner(int8, precision="bf16")
    with pytest.raises(InputError, match="inference_precision"):
        OpenVinoRunner(fp32_onnx, precision="bf16", inference_precision="f32")


@needs_openvino
@needs_bf16_cpu
def test_openvino_bf16_runs_the_fp32_file_in_bfloat16(fp32_onnx):
    with (
        OpenVinoRunner(fp32_onnx, threads=1) as f32,
        OpenVinoRunner(fp32_onnx, precision="bf16", threads=1) as bf16,
    ):
        assert f32.properties["INFERENCE_PRECISION_HINT"] == "f32"  # never bf16 unasked
        assert bf16.properties["INFERENCE_PRECISION_HINT"] == "bf16"
        assert bf16.precision == "bf16" and bf16.describe()["precision"] == "bf16"
        onset, apex = _pairs(f32.input_size)
        a, b = f32.run(onset, apex), bf16.run(onset, apex)
    assert b.dtype == np.float32 and b.shape == a.shape
    err = np.abs(a - b).max()
    # bfloat16 keeps 8 significant bits: close, but not the f32 result
    assert 0 < err < 0.05 * np.abs(a).max() + 1e-2, err


@needs_bf16_cpu
def test_torch_bf16_autocasts_on_the_cpu(tiny_checkpoint):
    with TorchRunner(tiny_checkpoint) as f32, TorchRunner(tiny_checkpoint, precision="bf16") as b:
        onset, apex = _pairs(f32.input_size)
        x, y = f32.run(onset, apex), b.run(onset, apex)
    assert y.dtype == np.float32
    err = np.abs(x - y).max()
    assert 0 < err < 0.05 * np.abs(x).max() + 1e-2, err


@needs_openvino
@needs_bf16_cpu
def test_runtime_and_open_runner_take_bf16(fp32_onnx):
    from mmnet_edge import Runtime
    from mmnet_edge.runtime.loader import open_runner

    with open_runner(fp32_onnx, backend="openvino", precision="bf16") as r:
        assert r.path == fp32_onnx and r.precision == "bf16"
    with Runtime(fp32_onnx, backend="openvino", precision="bf16", align=False) as rt:
        size = rt.input_size if hasattr(rt, "input_size") else 112
        rng = np.random.default_rng(0)
        face = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        pred = rt.predict(face, face)
        assert pred.label in rt.class_names
    with pytest.raises(BackendUnavailableError, match="OpenVINO"):
        open_runner(fp32_onnx, backend="onnxruntime", precision="bf16")


def test_bench_plans_bf16_where_it_runs(fp32_onnx):
    from mmnet_edge.bench.harness import plan_cases

    planned = plan_cases([fp32_onnx], ["ort", "ov"], ["bf16"], [1])
    cases = {(c.backend, c.precision): c for c in planned}
    assert cases[("onnxruntime", "bf16")].status == "skipped"
    assert "OpenVINO" in cases[("onnxruntime", "bf16")].reason
    ov = cases[("openvino", "bf16")]
    if importlib.util.find_spec("openvino") is None or plat.cpu_bf16_reason():
        assert ov.status == "skipped"
    else:
        assert ov.status != "skipped" and ov.model == fp32_onnx
