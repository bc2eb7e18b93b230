"""Benchmark harness: statistics, report schema, skipped backends, time bounds."""

from __future__ import annotations

import importlib.util
import json
import time

import numpy as np
import pytest
from click.testing import CliRunner

from mmnet_edge.bench import RunSettings, run_benchmark
from mmnet_edge.bench.flops import model_gflops
from mmnet_edge.bench.report import to_markdown
from mmnet_edge.bench.stats import latency_stats, throughput_per_s
from mmnet_edge.cli import cli
from mmnet_edge.model import MMNetConfig, create_config

LAT_KEYS = {"min", "p50", "p90", "p99", "max", "mean", "std"}


def test_percentiles_on_a_known_sample():
    s = latency_stats(list(range(1, 101)))  # 1..100 ms
    assert s["min"] == 1 and s["max"] == 100
    assert s["p50"] == pytest.approx(50.5)
    assert s["p90"] == pytest.approx(90.1)
    assert s["p99"] == pytest.approx(99.01)
    assert s["mean"] == pytest.approx(50.5)
    assert s["std"] == pytest.approx(np.std(np.arange(1, 101), ddof=1))
    assert throughput_per_s(8, 4.0) == pytest.approx(2000.0)
    with pytest.raises(ValueError):
        latency_stats([])


def test_paper_model_cost_is_about_14_gflops():
    # convolutions 11.8 + PC transformer 2.6 (multiply-add = 2); MMNET.md quotes ≈ 13.4
    assert 13.0 < model_gflops(MMNetConfig()) < 15.0
    assert model_gflops(create_config("tiny")) < 0.2


@pytest.fixture(scope="module")
def onnx_model(tiny_checkpoint, tmp_path_factory):
    from mmnet_edge.export.onnx import export_onnx

    return export_onnx(tiny_checkpoint, tmp_path_factory.mktemp("b") / "model.onnx").path


def test_report_schema_and_skips(tiny_checkpoint, onnx_model, tmp_path):
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        cli,
        [
            "bench",
            str(tiny_checkpoint),
            str(onnx_model),
            "--backend",
            "torch,onnxruntime,tensorrt",
            "--precision",
            "fp32,int8",
            "--batch",
            "1,2",
            "--iters",
            "4",
            "--warmup",
            "1",
            "--json",
            str(out),
            "--markdown",
            str(tmp_path / "r.md"),
            "--plot",
            str(tmp_path / "r.png"),
        ],
    )
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())
    assert {"environment", "model", "results"} <= set(rep)
    assert rep["model"]["gflops_per_sample"] > 0
    for key in ("cpu", "cores", "torch", "onnxruntime", "tensorrt", "gpu"):
        assert key in rep["environment"]
    ok = [r for r in rep["results"] if r["status"] == "ok"]
    assert {(r["backend"], r["batch"]) for r in ok} == {
        ("torch", 1),
        ("torch", 2),
        ("onnxruntime", 1),
        ("onnxruntime", 2),
    }
    for r in ok:
        assert set(r["latency_ms"]) == LAT_KEYS and r["samples"] == 4
        lat = r["latency_ms"]
        assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
        assert r["throughput_per_s"] == pytest.approx(r["batch"] * 1000 / lat["p50"])
    # the baseline is the first backend measured (torch fp32); each ratio is its p50 over
    # the row's p50 at the same batch, recomputed here from the report's own numbers
    assert rep["baseline"] == "torch:fp32"
    p50 = {(r["backend"], r["precision"], r["batch"]): r["latency_ms"]["p50"] for r in ok}
    for r in ok:
        base = p50[("torch", "fp32", r["batch"])]
        assert r["speedup_vs_baseline"] == pytest.approx(base / r["latency_ms"]["p50"], rel=1e-12)
        if r["backend"] == "torch":
            assert r["speedup_vs_baseline"] == 1.0
    skipped = [r for r in rep["results"] if r["status"] == "skipped"]
    assert all(r["reason"] for r in skipped)
    if importlib.util.find_spec("tensorrt") is None:
        trt = [r for r in skipped if r["backend"] == "tensorrt"]
        assert trt and "TensorRT not installed" in trt[0]["reason"]
    assert (tmp_path / "r.png").stat().st_size > 1000
    assert "| backend |" in (tmp_path / "r.md").read_text()


def test_seconds_bounds_the_run(onnx_model):
    t0 = time.perf_counter()
    rep = run_benchmark(
        [onnx_model], ["onnxruntime"], ["fp32"], [1], RunSettings(warmup=1, iters=None, seconds=1.0)
    )
    elapsed = time.perf_counter() - t0
    r = rep["results"][0]
    assert r["status"] == "ok" and r["samples"] >= 1
    assert elapsed < 15  # 1 s of measurement + setup; never the default 50 rounds of work
    assert "at most 1 s" in rep["method"]
    assert "| onnxruntime | fp32 | 1 |" in to_markdown(rep)


def test_interrupt_writes_partial_results(onnx_model):
    calls = {"n": 0}

    def interrupt(done, total):
        calls["n"] += 1
        if done == 3:
            raise KeyboardInterrupt

    rep = run_benchmark(
        [onnx_model],
        ["onnxruntime"],
        ["fp32"],
        [1],
        RunSettings(warmup=1, iters=50),
        on_progress=interrupt,
    )
    assert rep["complete"] is False
    assert rep["results"][0]["samples"] == 3
    assert "partial" in to_markdown(rep)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--backend", ""], "no backends given"),
        (["--backend", "ort,onnxruntime"], "backends named more than once: onnxruntime"),
        (["--backend", "ort,tensorflow"], "unknown backend 'tensorflow'; choose torch"),
        (["--precision", "fp32,int8,fp32"], "precisions named more than once: fp32"),
        (["--precision", "fp64"], "unknown precisions fp64"),
        (["--batch", "0"], "batch sizes must be ≥ 1, got 0"),
        (["--batch", "-4"], "batch sizes must be ≥ 1, got -4"),
        (["--batch", "8,8"], "batch sizes named more than once: 8"),
    ],
)
def test_bad_lists_are_refused_before_the_cache_exports_anything(
    tiny_checkpoint, tmp_path, monkeypatch, args, match
):
    """A lone checkpoint used to be exported to ONNX/INT8 (minutes on the paper model) before
    a repeated backend or a zero batch was noticed."""
    from mmnet_edge.bench import cache
    from mmnet_edge.errors import InputError

    exported = []
    monkeypatch.setattr(cache, "_export", lambda *a, **k: exported.append(a) or [])
    res = CliRunner().invoke(
        cli, ["bench", str(tiny_checkpoint), *args, "--cache-dir", str(tmp_path / "cache")]
    )
    assert isinstance(res.exception, InputError), res.output
    assert match in str(res.exception)
    assert exported == [] and not (tmp_path / "cache").exists()


def test_available_memory_falls_back_to_sysconf_without_proc_meminfo(monkeypatch):
    """Where /proc/meminfo cannot be read (not Linux, a sandbox), the guard still knows the
    free memory and refuses a batch that cannot fit."""
    from mmnet_edge.bench import guards
    from mmnet_edge.errors import InputError

    def no_proc(*_a, **_k):
        raise FileNotFoundError("/proc/meminfo")

    pages = {"SC_AVPHYS_PAGES": (2 << 30) // 4096, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(guards, "open", no_proc, raising=False)
    monkeypatch.setattr(guards.os, "sysconf", lambda name: pages[name])
    assert guards.available_memory() == 2 << 30
    with pytest.raises(InputError, match=r"of the 2\.0 GiB available: use --batch \d+ or less"):
        guards.check_batch_memory([100_000], 112)
    monkeypatch.setattr(guards.os, "sysconf", lambda name: -1)  # unknown: no refusal
    assert guards.available_memory() is None
    guards.check_batch_memory([100_000], 112)
