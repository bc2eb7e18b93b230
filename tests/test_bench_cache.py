"""``mmnet-edge bench CHECKPOINT``: exports into a cache once, benchmarks every backend,
ends with a recommendation; a second call reuses the cache.

The CLI runs in a subprocess, as a user runs it: after OpenVINO ran under rich's progress
display, a later SIGINT that another test sends to the pytest process itself crashed it
(OpenVINO 2026.4, seen only in that combination), so these runs are kept out of it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmnet_edge.bench import cache as bench_cache

REPO = Path(__file__).resolve().parents[1]


def _bench(ckpt: Path, cache: Path, out: Path) -> tuple[str, dict]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from mmnet_edge.cli import cli; cli(sys.argv[1:])",
            "bench",
            str(ckpt),
            "--precision",
            "fp32,int8",
            "--iters",
            "2",
            "--warmup",
            "0",
            "--threads",
            "1",
            "--agreement-pairs",
            "10",
            "--cache-dir",
            str(cache),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=280,
    )
    output = res.stdout + res.stderr
    assert res.returncode == 0, output
    return output, json.loads(out.read_text())


@pytest.mark.slow
def test_checkpoint_alone_benchmarks_every_backend_and_reuses_the_cache(tiny_checkpoint, tmp_path):
    cache = tmp_path / "cache"
    output, rep = _bench(tiny_checkpoint, cache, tmp_path / "a.json")
    assert "exporting tiny.safetensors" in output and "SYNTHETIC" in output
    ok = {(r["backend"], r["precision"]) for r in rep["results"] if r["status"] == "ok"}
    expected = {("torch", "fp32"), ("onnxruntime", "fp32"), ("onnxruntime", "int8")}
    if importlib.util.find_spec("openvino") is not None:
        expected |= {("openvino", "fp32"), ("openvino", "int8")}
    assert ok == expected
    for r in rep["results"]:
        if r["status"] == "ok":
            assert 0.0 <= r["agreement"]["top1_agreement"] <= 1.0
    ref = next(
        r for r in rep["results"] if (r["backend"], r["precision"]) == ("onnxruntime", "fp32")
    )
    assert ref["agreement"]["top1_agreement"] == 1.0  # the reference agrees with itself
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("recommended: ") and lines[-1] == rep["recommendation"]["line"]
    d = cache / rep["exports"]["directory"].rsplit("/", 1)[-1]
    files = sorted(p.name for p in d.glob("*.onnx"))
    assert files == [
        "model.int8-cpu.onnx",
        "model.int8-openvino.onnx",
        "model.int8.onnx",
        "model.onnx",
    ]
    assert d.name == bench_cache.file_sha256(tiny_checkpoint)[:16]
    assert sorted(rep["exports"]["written"]) == files
    mtimes = {p.name: p.stat().st_mtime_ns for p in d.glob("*.onnx")}

    output2, rep2 = _bench(tiny_checkpoint, cache, tmp_path / "b.json")
    assert "using cached exports" in output2 and "exporting" not in output2
    assert rep2["exports"]["reused"] is True and rep2["exports"]["written"] == []
    assert {p.name: p.stat().st_mtime_ns for p in d.glob("*.onnx")} == mtimes
    assert {(r["backend"], r["precision"]) for r in rep2["results"] if r["status"] == "ok"} == ok

    # a truncated file and one quantized for another target are re-exported, not used
    cpu, trt = d / "model.int8-cpu.onnx", d / "model.int8.onnx"
    trt.write_bytes(cpu.read_bytes())  # the CPU target's file under the TensorRT name
    cpu.write_bytes(cpu.read_bytes()[:1000])
    said: list[str] = []
    res = bench_cache.prepare_models(
        [tiny_checkpoint], ["onnxruntime"], ["int8"], cache, on_message=said.append
    )
    assert not res.reused and any("model.int8.onnx" in m and "re-exporting" in m for m in said)
    assert "model.int8-cpu.onnx" in said[0]
    from mmnet_edge.artifacts.metadata_io import read_onnx_metadata

    assert read_onnx_metadata(trt).extra["int8_target"] == "tensorrt"
    assert read_onnx_metadata(cpu).extra["int8_target"] == "cpu"
    again = bench_cache.prepare_models([tiny_checkpoint], ["onnxruntime"], ["int8"], cache)
    assert again.reused


def test_cache_location_and_when_it_applies(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("MMNET_EDGE_CACHE_DIR", str(tmp_path / "env"))
    assert bench_cache.cache_root() == tmp_path / "env" / "bench"
    # one root for every cache: the fetched face detector sits beside the bench exports
    from mmnet_edge.align.model_fetch import model_cache_dir

    assert model_cache_dir() == tmp_path / "env" / "models"
    assert bench_cache.cache_root(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("MMNET_EDGE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert bench_cache.cache_root() == tmp_path / "xdg" / "mmnet-edge" / "bench"
    called = []
    monkeypatch.setattr(bench_cache, "_export", lambda *a, **k: called.append(a) or [])
    # torch only: nothing to export
    res = bench_cache.prepare_models([tiny_checkpoint], ["torch"], ["fp32"], tmp_path)
    assert res.models == [tiny_checkpoint] and res.directory is None
    # an ONNX file given: used as is
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"")
    res = bench_cache.prepare_models([tiny_checkpoint, onnx], ["ort"], ["fp32"], tmp_path)
    assert res.models == [tiny_checkpoint, onnx] and called == []


def test_a_cached_file_of_another_checkpoint_or_truncated_is_re_exported(
    tiny_checkpoint, tmp_path, monkeypatch
):
    """The cache directory is named by the checkpoint's hash, but its files are checked too:
    one exported from another checkpoint (copied in by hand) or cut short is re-exported and
    the message says so; an intact one is reused."""
    from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
    from mmnet_edge.artifacts.onnx_props import write_onnx_metadata

    first = bench_cache.prepare_models([tiny_checkpoint], ["ort"], ["fp32"], tmp_path)
    onnx = first.models[-1]
    assert not first.reused and first.written == [onnx]
    good = onnx.read_bytes()
    exported: list[str] = []

    def export_again(ckpt, directory, path, *rest):  # the real export is the slow test's
        exported.append(path.name)
        path.write_bytes(good)
        return [path]

    monkeypatch.setattr(bench_cache, "_export", export_again)

    def prepare() -> tuple[bench_cache.CacheResult, list[str]]:
        said: list[str] = []
        res = bench_cache.prepare_models(
            [tiny_checkpoint], ["ort"], ["fp32"], tmp_path, on_message=said.append
        )
        return res, said

    res, said = prepare()
    assert res.reused and exported == [] and said[0].startswith("using cached exports")

    meta = read_onnx_metadata(onnx)
    meta.source_checkpoint_sha256 = "0" * 64  # another checkpoint's export under this name
    write_onnx_metadata(onnx, meta)
    res, said = prepare()
    assert not res.reused and exported == ["model.onnx"]
    assert "model.onnx" in said[0] and "not made from tiny.safetensors: re-exporting" in said[0]
    assert onnx.read_bytes() == good

    onnx.write_bytes(good[: len(good) // 2])  # an interrupted copy
    res, said = prepare()
    assert not res.reused and exported == ["model.onnx", "model.onnx"]
    assert "re-exporting" in said[0]
    assert prepare()[0].reused
