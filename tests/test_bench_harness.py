"""Benchmark harness beyond the basics: precision axis, ratios, Ctrl-C, stages, CLI bounds."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import warnings

import pytest
from click.testing import CliRunner

from mmnet_edge.bench import RunSettings, run_benchmark
from mmnet_edge.bench.flops import model_gflops, model_gflops_by_op
from mmnet_edge.bench.harness import plan_cases
from mmnet_edge.bench.report import to_markdown
from mmnet_edge.cli import cli
from mmnet_edge.errors import InputError
from mmnet_edge.model import create_config


@pytest.fixture(scope="module")
def models(tiny_checkpoint, tmp_path_factory):
    """A tiny checkpoint, its ONNX export and a real CPU-target INT8 sibling."""
    from mmnet_edge.calibration.quantize import quantize_int8
    from mmnet_edge.calibration.sources import from_synthetic
    from mmnet_edge.export.onnx import export_onnx

    d = tmp_path_factory.mktemp("bench")
    onnx_path = export_onnx(tiny_checkpoint, d / "model.onnx", validate=False).path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small synthetic set: fine for latency
        quantize_int8(onnx_path, from_synthetic(112, 1, 2, 0), d, targets=("cpu",), method="minmax")
    return tiny_checkpoint, onnx_path


def test_precision_axis_uses_sibling_variants(models):
    ckpt, onnx_path = models
    rep = run_benchmark(
        [ckpt, onnx_path],
        ["torch", "ort"],
        ["fp32", "fp16", "int8"],
        [1],
        RunSettings(warmup=1, iters=3),
        baseline="onnxruntime:fp32",
    )
    rows = {(r["backend"], r["precision"]): r for r in rep["results"]}
    assert rows[("onnxruntime", "int8")]["status"] == "ok"
    assert rows[("onnxruntime", "int8")]["model"].endswith("model.int8-cpu.onnx")
    assert rows[("onnxruntime", "int8")]["runner"]["precision"] == "int8"
    assert rows[("onnxruntime", "fp32")]["speedup_vs_baseline"] == pytest.approx(1.0)
    torch_fp32 = rows[("torch", "fp32")]
    assert torch_fp32["speedup_vs_baseline"] == pytest.approx(
        rows[("onnxruntime", "fp32")]["latency_ms"]["p50"] / torch_fp32["latency_ms"]["p50"]
    )
    for key, why in (
        (("torch", "fp16"), "CUDA"),
        (("torch", "int8"), "INT8"),
        (("onnxruntime", "fp16"), "emulated"),
    ):
        assert rows[key]["status"] == "skipped" and why in rows[key]["reason"]
    assert rep["baseline"] == "onnxruntime:fp32"
    r = rows[("onnxruntime", "fp32")]
    gflops = rep["model"]["gflops_per_sample"]
    assert r["achieved_gflops_per_s"] == pytest.approx(r["throughput_per_s"] * gflops)
    assert r["peak_rss_mb"] > 0 and r["cuda_peak_mb"] is None
    md = to_markdown(rep)
    assert "vs onnxruntime:fp32" in md and "peak RSS MiB" in md and "1.00×" in md


def test_bad_matrix_arguments_are_input_errors(models):
    """Every bad list through the CLI, before any export: test_bench.py. Here: the API entry
    point refuses them too (the same check), and a run needs a bound."""
    ckpt, onnx_path = models
    with pytest.raises(InputError, match="unknown backend 'tflite'; choose torch"):
        plan_cases([onnx_path], ["tflite"], ["fp32"], [1])
    with pytest.raises(InputError, match="more than once: int8"):
        plan_cases([onnx_path], ["ort"], ["int8", "fp32", "int8"], [1])
    with pytest.raises(InputError, match="no precisions given"):
        plan_cases([onnx_path], ["ort"], [], [1])
    with pytest.raises(InputError, match="bound"):
        RunSettings(iters=None, seconds=None)
    # a file kind that no requested backend runs is a skip with the reason, not a crash
    cases = plan_cases([ckpt], ["onnxruntime"], ["fp32"], [1])
    assert cases[0].status == "skipped" and "no onnx file" in cases[0].reason


def test_cuda_graph_twins_are_skipped_without_cuda(models):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    ckpt, _ = models
    cases = plan_cases([ckpt], ["torch"], ["fp32"], [1], cuda_graph=True)
    assert [c.cuda_graph for c in cases] == [False, True]
    assert cases[0].status == "pending"
    assert cases[1].status == "skipped" and "CUDA" in cases[1].reason


def test_gflops_split_adds_up():
    cfg = create_config("tiny")
    split = model_gflops_by_op(cfg)
    assert sum(split.values()) == pytest.approx(model_gflops(cfg))
    assert {"convolution", "addmm", "bmm"} <= set(split)
    assert split["convolution"] > split["addmm"]  # the CNN dominates, as in the paper model


def _sigint_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_ctrl_c_during_warmup_still_returns_a_report(models):
    _, onnx_path = models
    timer = _sigint_after(1.0)
    try:
        rep = run_benchmark([onnx_path], ["ort"], ["fp32"], [1], RunSettings(warmup=10**6, iters=5))
    finally:
        timer.cancel()
    assert rep["complete"] is False
    (r,) = rep["results"]
    assert r["status"] == "skipped" and "interrupted" in r["reason"]
    assert "partial" in to_markdown(rep)


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_cli_ctrl_c_writes_partial_json(models, tmp_path):
    _, onnx_path = models
    out = tmp_path / "partial.json"
    timer = _sigint_after(3.0)
    try:
        res = CliRunner().invoke(
            cli,
            ["bench", str(onnx_path), "--backend", "ort", "--precision", "fp32"]
            + ["--warmup", "1", "--iters", "1000000", "--json", str(out)],
        )
    finally:
        timer.cancel()
    assert res.exit_code == 130, res.output
    rep = json.loads(out.read_text())
    assert rep["complete"] is False
    assert rep["results"][0]["status"] == "ok" and rep["results"][0]["samples"] >= 1


def test_cli_seconds_bounds_the_run(models, tmp_path):
    _, onnx_path = models
    out = tmp_path / "timed.json"
    t0 = time.perf_counter()
    res = CliRunner().invoke(
        cli,
        ["bench", str(onnx_path), "--backend", "ort", "--precision", "fp32,int8"]
        + ["--batch", "1,2", "--warmup", "1", "--seconds", "1", "--json", str(out)],
    )
    elapsed = time.perf_counter() - t0
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())
    assert elapsed < 20
    assert "at most 1 s" in rep["method"] and "rounds" not in rep["method"]
    ok = [r for r in rep["results"] if r["status"] == "ok"]
    assert len(ok) == 4
    # interleaved: every case got the same number of rounds (±1 for the last round)
    counts = {r["samples"] for r in ok}
    assert max(counts) - min(counts) <= 1


def test_a_batch_that_cannot_fit_is_refused_before_anything_is_allocated(models, monkeypatch):
    from mmnet_edge.bench import guards

    _, onnx_path = models
    with pytest.raises(InputError, match=r"use --batch \d+ or less"):
        guards.check_batch_memory([1, 4096], 224, available=8 << 30)
    guards.check_batch_memory([1, 64], 224, available=8 << 30)  # 1.6 GB of 5.6: fine
    monkeypatch.setattr(guards, "available_memory", lambda: 1 << 30)
    opened = []
    monkeypatch.setattr("mmnet_edge.bench.harness.plan_cases", lambda *a, **k: opened.append(a))
    res = CliRunner().invoke(
        cli,
        ["bench", str(onnx_path), "--backend", "ort", "--precision", "fp32", "--batch", "100000"],
    )
    # a typed error, which the console entry point prints as one line (exit code 1)
    assert isinstance(res.exception, InputError)
    assert "GiB of host memory" in str(res.exception) and "--batch" in str(res.exception)
    assert opened == []  # refused before planning (and opening) any case
    res = CliRunner().invoke(cli, ["bench", str(onnx_path), "--backend", "ort,onnxruntime"])
    assert isinstance(res.exception, InputError) and "more than once" in str(res.exception)


def test_stages_report_skipped_alignment_with_reason(models):
    from mmnet_edge.bench.stages import measure_stages

    _, onnx_path = models
    st = measure_stages(onnx_path, "onnxruntime", detector="/nonexistent/yunet.onnx", iters=3)
    assert st["align_status"] == "skipped" and "DetectorUnavailableError" in st["align_reason"]
    assert list(st["stages_ms"]) == ["decode", "preprocess", "inference", "postprocess", "total"]
    total = st["stages_ms"]["total"]["p50"]
    assert 0 < st["stages_ms"]["inference"]["p50"] < total


def test_stages_with_alignment(models, detector_model_path):
    pytest.importorskip("skimage")
    from mmnet_edge.bench.stages import measure_stages

    _, onnx_path = models
    st = measure_stages(onnx_path, "onnxruntime", detector=str(detector_model_path), iters=3)
    assert "align_status" not in st
    assert {"decode", "align", "preprocess", "inference", "postprocess", "total"} <= set(
        st["stages_ms"]
    )
    assert st["stages_ms"]["align"]["p50"] > 0
