"""``backend="auto"`` from measurements: the bench recommendation and the on-load probe."""

from __future__ import annotations

import json
import shutil
import warnings

import pytest

from mmnet_edge.bench.recommend import recommend, recommendation_line
from mmnet_edge.errors import InputError
from mmnet_edge.runtime import autoselect
from mmnet_edge.runtime.loader import open_runner


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    from mmnet_edge.export.pipeline import ExportSettings, export_model

    d = tmp_path_factory.mktemp("rec")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = export_model(
            tiny_checkpoint,
            d,
            ExportSettings(precision="int8", calib_method="minmax", validate=False, lint=False),
        )
    # an untrained model's near-tie logits fail the INT8 gate at export; these tests rank
    # cases, so the verdicts are set here (test_a_file_that_failed_the_export_gate... tests it)
    for name in ("model.int8.onnx", "model.int8-cpu.onnx", "model.int8-openvino.onnx"):
        set_gate(res.onnx.with_name(name), passed=True)
    return res.onnx


def set_gate(path, passed: bool) -> None:
    from mmnet_edge.artifacts.gate_record import GATE_KEY
    from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
    from mmnet_edge.artifacts.onnx_props import write_onnx_metadata

    meta = read_onnx_metadata(path)
    rec = dict(meta.extra[GATE_KEY], passed=passed)
    rec.update(worst="gate-b", worst_agreement=0.99 if passed else 0.95)
    meta.extra = {**meta.extra, GATE_KEY: rec}
    write_onnx_metadata(path, meta)


def _row(backend, precision, p50, agreement, model, batch=1):
    return {
        "backend": backend,
        "precision": precision,
        "batch": batch,
        "device": "cpu",
        "cuda_graph": False,
        "model": str(model),
        "status": "ok",
        "latency_ms": {"p50": p50},
        "agreement": {"top1_agreement": agreement},
    }


def _report(exported, rows):
    from mmnet_edge.artifacts.platform import cpu_flags, cpu_model

    return {
        "environment": {
            "date": "2026-11-24T00:00:00Z",
            "cpu": cpu_model(),
            "cpu_flags": cpu_flags(),
        },
        "agreement": {"reference": "onnxruntime:fp32"},
        "results": rows,
    }


def _rows(exported):
    int8_cpu = exported.with_name("model.int8-cpu.onnx")
    int8_ov = exported.with_name("model.int8-openvino.onnx")  # what OpenVINO loads
    return [
        _row("onnxruntime", "fp32", 10.0, 1.0, exported),
        _row("onnxruntime", "int8", 4.0, 0.99, int8_cpu),
        _row("onnxruntime", "int8", 2.0, 0.99, int8_cpu, batch=8),  # not batch 1: not ranked
        _row("openvino", "int8", 3.0, 0.90, int8_ov),  # fastest, but fails the 0.97 gate
        _row("openvino", "fp32", 8.0, 1.0, exported),
        {"backend": "tensorrt", "precision": "int8", "batch": 1, "status": "skipped"},
    ]


def test_recommendation_is_fastest_case_passing_the_gate(exported):
    rec = recommend(_report(exported, _rows(exported)), [exported], gate=0.97)
    assert (rec["backend"], rec["precision"]) == ("onnxruntime", "int8")
    assert rec["p50_ms"] == 4.0 and rec["latency_vs_ort_fp32"] == pytest.approx(0.4)
    assert [(e["backend"], e["precision"]) for e in rec["ranking"]] == [
        ("onnxruntime", "int8"),
        ("openvino", "fp32"),
        ("onnxruntime", "fp32"),
    ]
    assert [(e["backend"], e["agreement"]) for e in rec["rejected"]] == [("openvino", 0.90)]
    assert rec["line"] == (
        "recommended: onnxruntime int8 (4.00 ms, 0.40× vs ORT FP32, agreement 0.990 ≥ 0.97); "
        "faster openvino int8 (3.00 ms) agrees 0.900 < 0.97"
    )
    assert rec["model_identity"]["onnx_sha256"] and rec["model_identity"]["checkpoint_sha256"]
    # a lower gate lets the faster OpenVINO INT8 case win
    low = recommend(_report(exported, _rows(exported)), [exported], gate=0.9)
    assert (low["backend"], low["precision"]) == ("openvino", "int8")
    # nothing passes → says why
    none = recommend(_report(exported, _rows(exported)), [exported], gate=1.01)
    assert none["ranking"] == [] and "agreement ≥ 1.01" in recommendation_line(none)


def test_auto_follows_a_matching_recommendation(exported, tmp_path):
    pytest.importorskip("openvino")
    rec = recommend(_report(exported, _rows(exported)), [exported], gate=0.9)
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"recommendation": rec}))
    with open_runner(exported, recommendation=path) as r:  # backend="auto"
        got = (r.backend, r.precision, r.path.name)
        assert got == ("openvino", "int8", "model.int8-openvino.onnx")
        assert "bench recommendation" in r.reason and "3.00 ms" in r.reason
        assert "agreement 0.900 ≥ 0.9" in r.reason
    # the Runtime passes it through
    from mmnet_edge.runtime.runtime import Runtime

    with Runtime(exported, align=False, recommendation=rec) as rt:
        assert rt.backend == "openvino"


def test_recommendation_for_another_model_or_cpu_is_not_followed(exported, tiny_checkpoint):
    rec = recommend(_report(exported, _rows(exported)), [exported], gate=0.97)
    other = json.loads(json.dumps(rec))
    other["model_identity"] = {"name": "other.onnx", "checkpoint_sha256": "0" * 64}
    with open_runner(exported, recommendation=other) as r:
        assert r.backend == "onnxruntime" and r.path.name == "model.onnx"  # fixed preference
        assert "recommendation ignored" in r.reason and "other.onnx" in r.reason
    elsewhere = json.loads(json.dumps(rec))
    elsewhere["machine"]["cpu"] = "Some Other CPU"
    with open_runner(exported, recommendation=elsewhere) as r:
        assert r.backend == "onnxruntime" and "Some Other CPU" in r.reason
    with pytest.raises(InputError, match="no recommendation"):
        open_runner(exported, recommendation={"results": []})
    # the checkpoint's own identity matches too (same weights), but torch is not ranked
    choice = autoselect.follow_recommendation(rec, tiny_checkpoint, "checkpoint", None)
    assert choice.backend is None and "does not open a checkpoint" in choice.reason


def test_a_file_changed_since_the_bench_is_skipped(exported, tmp_path):
    d = tmp_path / "copy"
    d.mkdir()
    for f in exported.parent.glob("model*.onnx"):
        shutil.copy(f, d / f.name)
    rec = recommend(_report(exported, _rows(exported)), [exported], gate=0.97)
    (d / "model.int8-cpu.onnx").write_bytes(b"re-calibrated")  # different bytes
    choice = autoselect.follow_recommendation(rec, d / "model.onnx", "onnx", None)
    assert "not the file benchmarked" in choice.reason
    assert (choice.backend, choice.precision) in {("openvino", "fp32"), ("onnxruntime", "fp32")}


def test_probe_picks_the_fastest_candidate_passing_agreement(exported):
    choice = autoselect.probe(exported, iters=2, pairs=10, threads=1)
    measured = [f for f in choice.facts if "agreement" in f]
    assert {(f["backend"], f["precision"]) for f in measured} >= {
        ("onnxruntime", "fp32"),
        ("onnxruntime", "int8"),
    }
    ref = next(f for f in measured if (f["backend"], f["precision"]) == ("onnxruntime", "fp32"))
    assert ref["agreement"] == 1.0
    best = min((f for f in measured if f["agreement"] >= 0.97), key=lambda f: f["p50_ms"])
    assert (choice.backend, choice.precision) == (best["backend"], best["precision"])
    assert choice.path.name == best["model"]
    assert "probe on load" in choice.reason and f"{best['p50_ms']:.2f} ms" in choice.reason


def test_probe_through_open_runner_and_its_fallback(exported):
    with open_runner(exported, probe={"iters": 1, "pairs": 10}) as r:
        assert "probe on load" in r.reason and r.backend in ("onnxruntime", "openvino")
    with open_runner(exported, probe={"iters": 1, "pairs": 10, "gate": 1.01}) as r:
        assert r.backend == "onnxruntime" and r.path.name == "model.onnx"
        assert "probe found no candidate passing agreement ≥ 1.01" in r.reason
    with open_runner(exported, precision="fp32", probe=True) as r:  # explicit precision wins
        assert "measurements not consulted" in r.reason


def test_a_file_that_failed_the_export_gate_is_not_recommended(exported, tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    for f in exported.parent.glob("model*.onnx"):
        shutil.copy(f, d / f.name)
    onnx = d / exported.name
    set_gate(d / "model.int8-cpu.onnx", passed=False)
    rows = [
        _row("onnxruntime", "fp32", 10.0, 1.0, onnx),
        _row("onnxruntime", "int8", 4.0, 0.99, d / "model.int8-cpu.onnx"),  # fast, agrees here
        _row("openvino", "fp32", 8.0, 1.0, onnx),
    ]
    rec = recommend(_report(onnx, rows), [onnx], gate=0.97)
    assert (rec["backend"], rec["precision"]) == ("openvino", "fp32")
    (rejected,) = rec["rejected"]
    assert rejected["precision"] == "int8" and "gate-b" in rejected["export_gate"]
    # the summary line says why the faster INT8 case was passed over
    assert rec["line"].endswith(
        "faster onnxruntime int8 (4.00 ms) failed the INT8 gate at export (gate-b: 0.950 < 0.97)"
    )
    choice = autoselect.probe(onnx, iters=1, pairs=8, gate=0.0)
    fact = next(
        f for f in choice.facts if (f["backend"], f["precision"]) == ("onnxruntime", "int8")
    )
    assert "failed the INT8 agreement gate at export" in fact["skipped"]
