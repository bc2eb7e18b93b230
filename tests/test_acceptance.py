"""``mmnet-edge doctor --acceptance``: runs on a CPU machine (everything GPU skipped, with
reasons, exit 0, "nothing GPU-side was proven"), and its control flow with doubles."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mmnet_edge.acceptance import Context, Skip, run_acceptance
from mmnet_edge.acceptance import steps as acc
from mmnet_edge.acceptance.report import GPU_STEPS
from mmnet_edge.cli import cli
from tests.trt_doubles import FakeCudart, FakeGpu, make_tensorrt

has_gpu = bool(acc.gpu_facts(0))


@pytest.mark.skipif(has_gpu, reason="this machine has a CUDA device")
def test_cpu_machine_skips_every_gpu_step_and_says_nothing_was_proven(tmp_path):
    report, folder = run_acceptance(tmp_path / "out")
    statuses = {s.name: s.status for s in report.steps}
    assert [s.name for s in report.steps] == [name for name, _ in acc.STEPS]
    assert statuses["environment"] == "passed"
    assert all(statuses[n] == "skipped" for n in GPU_STEPS), statuses
    assert all(s.detail for s in report.steps if s.status == "skipped")  # a reason each
    assert "no CUDA device" in next(s.detail for s in report.steps if s.name == "engine builds")
    assert report.exit_code == 0 and not report.gpu_proven
    assert "NOTHING GPU-SIDE WAS PROVEN" in (folder / "acceptance.md").read_text()
    data = json.loads((folder / "acceptance.json").read_text())
    assert data["gpu_proven"] is False and data["device"] == "no-gpu"


@pytest.mark.skipif(has_gpu, reason="this machine has a CUDA device")
def test_cli_acceptance_exits_0_on_cpu_and_writes_the_report(tmp_path):
    res = CliRunner().invoke(cli, ["doctor", "--acceptance", "--output", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "NOTHING GPU-SIDE WAS PROVEN" in res.output
    assert (tmp_path / "acceptance.md").is_file() and (tmp_path / "acceptance.json").is_file()


def test_a_failed_step_is_reported_the_rest_still_run_and_the_exit_code_is_1(tmp_path):
    ran = []

    def env(ctx: Context):
        ctx.gpu = {"name": "NVIDIA L4", "compute_capability": "8.9"}
        return "fake GPU", {"gpu": ctx.gpu, "jetson": {}}

    def passes(ctx: Context):
        ran.append("passes")
        return "ok", {"x": 1}

    def fails(ctx: Context):
        ran.append("fails")
        raise RuntimeError("TensorRT said no")

    def skips(ctx: Context):
        ran.append("skips")
        raise Skip("not a Jetson")

    steps = [("environment", env), ("engine builds", passes), ("int8 engine", fails)]
    steps.append(("dla", skips))
    report, folder = run_acceptance(tmp_path, steps=steps, workdir=tmp_path)
    assert ran == ["passes", "fails", "skips"]
    assert [s.status for s in report.steps] == ["passed", "passed", "failed", "skipped"]
    assert "RuntimeError: TensorRT said no" in report.steps[2].detail
    assert report.exit_code == 1 and report.gpu_proven and report.device == "nvidia-l4"
    assert report.verdict == "FAILED: int8 engine"
    md = (folder / "acceptance.md").read_text()
    assert "| int8 engine | failed |" in md and "| dla | skipped |" in md


def test_all_skipped_or_passed_is_exit_0_and_passed(tmp_path):
    steps = [("environment", lambda c: "x"), ("engine builds", lambda c: "built")]
    report, _ = run_acceptance(tmp_path, steps=steps, workdir=tmp_path)
    assert report.exit_code == 0 and report.verdict == "PASSED"


def test_buffer_round_trip_step_with_the_cuda_python_double(tmp_path, monkeypatch):
    gpu = FakeGpu()
    monkeypatch.setattr("mmnet_edge.runtime.cuda_buffers._cudart", lambda: FakeCudart(gpu))
    monkeypatch.setattr(acc, "has_module", lambda name: True)
    ctx = Context(tmp_path)
    ctx.gpu = {"name": "fake"}
    assert "round trip exact" in acc.step_buffers_cuda_python(ctx)
    assert gpu.mem == {} and gpu.calls.count("cudaStreamDestroy") == 1


def test_steps_skip_with_the_missing_prerequisite(tmp_path, monkeypatch):
    ctx = Context(tmp_path)
    with pytest.raises(Skip, match="no CUDA device"):
        acc.step_engine_builds(ctx)
    ctx.gpu = {"name": "fake"}
    with pytest.raises(Skip, match="TensorRT is not installed"):
        acc.step_engine_builds(ctx)
    ctx.trt = make_tensorrt("11.1.0", FakeGpu())
    with pytest.raises(Skip, match="no ONNX model"):
        acc.step_engine_builds(ctx)
    with pytest.raises(Skip, match="no fp32 engine"):
        acc.step_runner(ctx)
    monkeypatch.setattr(acc, "jetson_facts", lambda: {})
    with pytest.raises(Skip, match="not a Jetson"):
        acc.step_dla(ctx)
    ctx.onnx = tmp_path / "model.onnx"
    with pytest.raises(Skip, match="no implicit calibrators"):
        acc.step_legacy_calibrator(ctx)
