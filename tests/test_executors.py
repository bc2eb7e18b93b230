"""Fold executors: bit-identical folds in-process and on Ray, resume, sweeps, the [ray] extra."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.numpy import load_file

from mmnet_edge.checkpoint import read_metadata
from mmnet_edge.cli import cli
from mmnet_edge.errors import BackendUnavailableError, ConfigError
from mmnet_edge.train import sweep, train
from mmnet_edge.train.device import cpu_kind
from mmnet_edge.train.driver import finish_run, plan_run, run_plans
from mmnet_edge.train.executors import InProcessExecutor, fold_threads, make_executor
from mmnet_edge.train.sweep import expand_grid, load_grid
from tests.train_fixtures import TINY_RUN

REPO = Path(__file__).resolve().parents[1]
BASE = TINY_RUN


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[object]:
    """A local Ray instance limited to 2 CPUs, shared by this module's Ray tests."""
    ray = pytest.importorskip("ray", reason="Ray is the [ray] extra; not installed here")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "folds").glob("*.json"))}


def _same_checkpoints(a: Path, b: Path, names: list[str]) -> None:
    for name in names:
        ta = load_file(str(a / "folds" / f"{name}.safetensors"))
        tb = load_file(str(b / "folds" / f"{name}.safetensors"))
        assert ta.keys() == tb.keys()
        for k in ta:
            np.testing.assert_array_equal(ta[k], tb[k], err_msg=f"{name}: {k}")


def _tensors_equal(a: Path, b: Path) -> bool:
    """Every tensor of two safetensors files bit-identical (same names, dtypes, values)."""
    ta, tb = load_file(str(a)), load_file(str(b))
    return ta.keys() == tb.keys() and all(
        ta[k].dtype == tb[k].dtype and np.array_equal(ta[k], tb[k]) for k in ta
    )


def _training_meta(path: Path) -> dict:
    return read_metadata(path).training


def test_same_seed_and_config_give_bit_identical_folds_at_the_recorded_thread_count(
    tmp_path: Path,
) -> None:
    """Two in-process runs at default settings write bit-identical fold weights; each fold
    records the torch thread count read inside it, which decides the rounding."""
    cfg = replace(BASE, threads=None, max_folds=1)  # default thread count
    want = fold_threads(cfg)
    runs = [train(replace(cfg, output=tmp_path / name)) for name in ("a", "b")]
    ckpt = Path("folds") / "sub01.safetensors"
    assert _tensors_equal(tmp_path / "a" / ckpt, tmp_path / "b" / ckpt)
    assert _training_meta(tmp_path / "a" / ckpt)["threads"] == want
    for res in runs:
        (fold,) = res.folds
        assert (fold.threads, fold.executor, fold.torch) == (want, "in-process", torch.__version__)
        assert fold.cpu == cpu_kind()
        assert res.report["folds"][0]["threads"] == want
        assert res.report["environment"]["fold_threads"] == [want]
    # the process's own settings are back (the autouse fixture set 1 thread)
    assert torch.get_num_threads() == 1
    assert not torch.are_deterministic_algorithms_enabled()
    # the fold pins the count it was given and records it: at another count the float sums
    # round differently, so equal weights above are not an accident of the thread count
    other = 1 if want != 1 else 2
    res = train(replace(cfg, threads=other, output=tmp_path / "other"))
    assert res.folds[0].threads == other
    assert not _tensors_equal(tmp_path / "a" / ckpt, tmp_path / "other" / ckpt)


@pytest.mark.slow
def test_default_settings_give_bit_identical_weights_in_process_and_on_ray(
    tmp_path: Path, local_ray: object
) -> None:
    """Issue 23: at default settings (no --threads, no --cpus-per-fold) every fold and the
    final model train at one thread count on both executors, read back inside each fold and
    recorded, so the weights are bit-identical (they differ across thread counts)."""
    cfg = replace(BASE, threads=None, final_model=True, max_folds=2)
    want = fold_threads(cfg)
    here = train(replace(cfg, output=tmp_path / "here"))
    there = train(replace(cfg, output=tmp_path / "ray", executor="ray"))
    names = [f.name for f in here.folds]
    for name in [*(f"folds/{n}.safetensors" for n in names), "model.safetensors"]:
        a, b = tmp_path / "here" / name, tmp_path / "ray" / name
        assert _tensors_equal(a, b), name
        # the same metadata too (nothing names the executor), the thread count included
        assert _training_meta(a) == _training_meta(b) and _training_meta(a)["threads"] == want
    for res, executor in ((here, "in-process"), (there, "ray")):
        for f in res.report["folds"]:
            assert (f["threads"], f["executor"], f["torch"]) == (want, executor, torch.__version__)
        env = res.report["environment"]
        assert env["fold_threads"] == [want] and env["final_model_threads"] == want
        assert env["fold_executors"] == [executor] and env["fold_cpus"] == [cpu_kind()]
        assert (
            f"torch threads per fold {want} (final model {want})"
            in (res.output_dir / "report.md").read_text()
        )
    assert torch.get_num_threads() == 1  # this process's own setting was restored
    # a Ray fold really runs at the count it records: at another one its weights differ
    other = 1 if want != 1 else 2
    odd = train(replace(cfg, threads=other, final_model=False, max_folds=1, executor="ray",
                        output=tmp_path / "ray-other"))  # fmt: skip
    assert odd.report["folds"][0]["threads"] == other
    ckpt = Path("folds") / f"{names[0]}.safetensors"
    assert not _tensors_equal(tmp_path / "here" / ckpt, tmp_path / "ray-other" / ckpt)


@pytest.mark.slow
def test_ray_folds_equal_in_process_and_resume(tmp_path: Path, local_ray: object) -> None:
    here = train(replace(BASE, output=tmp_path / "here"))
    # an interrupted Ray run: only the first two folds finished …
    part = train(replace(BASE, output=tmp_path / "ray", executor="ray", max_folds=2))
    assert [f.name for f in part.folds] == ["sub01", "sub02"]
    first = _records(tmp_path / "ray")
    mtimes = {n: (tmp_path / "ray" / "folds" / f"{n}.json").stat().st_mtime_ns for n in first}
    # … the rerun trains only the missing fold and reuses the finished ones untouched
    full = train(replace(BASE, output=tmp_path / "ray", executor="ray"))
    assert [f.resumed for f in full.folds] == [True, True, False]
    for n, t in mtimes.items():
        assert (tmp_path / "ray" / "folds" / f"{n}.json").stat().st_mtime_ns == t
    # same per-fold predictions, metrics and weights as the in-process executor
    assert [f.y_pred for f in full.folds] == [f.y_pred for f in here.folds]
    assert [f.y_true for f in full.folds] == [f.y_true for f in here.folds]
    for key in ("accuracy", "uf1", "uar", "confusion_matrix", "per_class", "fingerprint"):
        assert full.report[key] == here.report[key], key
    _same_checkpoints(tmp_path / "here", tmp_path / "ray", ["sub01", "sub02", "sub03"])
    assert full.report["folds"][0]["checkpoint"] == "folds/sub01.safetensors"


class _StopAfter(InProcessExecutor):
    """Runs ``n`` folds, then is interrupted (as Ctrl-C would)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def map(self, fn, jobs, on_done) -> None:  # noqa: ANN001
        for i, job in enumerate(jobs):
            if i == self.n:
                raise KeyboardInterrupt
            on_done(job, fn(job))


def test_interrupted_run_resumes_without_rerunning_finished_folds(tmp_path: Path) -> None:
    cfg = replace(BASE, output=tmp_path)
    plan = plan_run(cfg)
    with pytest.raises(KeyboardInterrupt):
        run_plans([plan], _StopAfter(1), progress=False)
    assert list(_records(tmp_path)) == ["sub01"]
    again = plan_run(cfg)
    assert [j.fold.name for j in again.jobs] == ["sub02", "sub03"]
    run_plans([again], InProcessExecutor(), progress=False)
    result = finish_run(again)
    assert [f.resumed for f in result.folds] == [True, False, False]
    assert result.metrics.n == 15


@pytest.mark.slow
def test_killed_ray_cli_run_resumes(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is the [ray] extra; not installed here")
    out = tmp_path / "run"
    args = [
        sys.executable, "-c", "from mmnet_edge.cli import main; main()", "train", "--config",
        "tiny", "--epochs", "2",
        "--batch-size", "8", "--synthetic-subjects", "4", "--synthetic-per-class", "1",
        "--synthetic-size", "64", "--no-final-model", "--quiet", "--device", "cpu",
        "--threads", "1", "--executor", "ray", "--cpus-per-fold", "2", "--output", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while not list((out / "folds").glob("*.json")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # Ctrl-C after the first finished fold
    proc.communicate(timeout=120)
    finished = set(_records(out))
    assert finished and len(finished) < 4 and not (out / "report.json").exists()
    res = subprocess.run(args, env=env, capture_output=True, text=True, timeout=400)
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads((out / "report.json").read_text())
    resumed = {f["name"] for f in report["folds"] if f["resumed"]}
    assert resumed == finished and len(report["folds"]) == 4


@pytest.mark.slow
def test_cli_sweep_on_ray_writes_summary_table(tmp_path: Path, local_ray: object) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text("lr = [0.002, 0.004]\n")
    out = tmp_path / "sweep"
    args = [
        "train", "--config", "tiny", "--epochs", "1", "--batch-size", "8", "--max-folds", "2",
        "--synthetic-subjects", "3", "--synthetic-per-class", "1", "--synthetic-size", "64",
        "--no-final-model", "--device", "cpu", "--threads", "1", "--executor", "ray",
        "--seeds", "0,1", "--grid", str(grid), "--output", str(out),
    ]  # fmt: skip
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "8/8" in res.output  # one bar over every fold of every setting × seed
    summary = json.loads((out / "sweep.json").read_text())
    rows = {r["setting"]: r for r in summary["settings"]}
    assert set(rows) == {"lr=0.002", "lr=0.004"}
    for name, row in rows.items():
        assert row["seeds"] == [0, 1]
        reports = [
            json.loads((out / name / f"seed{s}" / "report.json").read_text()) for s in (0, 1)
        ]
        for r, s in zip(reports, (0, 1)):
            assert r["seed"] == s and r["recipe"]["lr"] == float(name.split("=")[1])
            assert len(r["folds"]) == 2
        for metric in ("uf1", "uar", "accuracy"):
            values = [r[metric] for r in reports]
            assert row[metric]["mean"] == pytest.approx(statistics.mean(values), abs=1e-4)
            assert row[metric]["std"] == pytest.approx(statistics.stdev(values), abs=1e-4)
    md = (out / "sweep.md").read_text()
    assert "| lr=0.002 | 0,1 |" in md and "±" in md


@pytest.mark.slow
def test_sweep_seed_runs_share_one_dataset_and_differ_by_seed(tmp_path: Path) -> None:
    cfg = replace(BASE, synthetic=None, output=tmp_path, seeds=(3, 4), max_folds=1)
    with pytest.raises(ConfigError, match="sweep"):
        train(cfg)
    result = sweep(cfg)
    (name, s3, r3), (_, s4, r4) = result.runs
    assert name == "default" and (s3, s4) == (3, 4)
    assert r3.report["seed"] == 3 and r4.report["seed"] == 4
    assert r3.report["dataset"] == r4.report["dataset"]  # the set is drawn once, not per seed
    assert r3.folds[0].y_true == r4.folds[0].y_true
    assert result.summary[0]["n_runs"] == 2


def test_grid_files(tmp_path: Path) -> None:
    toml = tmp_path / "g.toml"
    toml.write_text("lr = [0.001, 0.002]\nepochs = [1, 2]\n")
    assert len(load_grid(toml)) == 4 and {"lr": 0.002, "epochs": 1} in load_grid(toml)
    js = tmp_path / "g.json"
    js.write_text(json.dumps({"settings": [{"lr": 0.1}, {"batch_size": 4, "epochs": 3}]}))
    assert load_grid(js) == ({"lr": 0.1}, {"batch_size": 4, "epochs": 3})
    with pytest.raises(ConfigError, match="cannot sweep seed_of_the_day"):
        expand_grid({"seed_of_the_day": [1]})
    bad = tmp_path / "bad.toml"
    bad.write_text("lr = [")
    with pytest.raises(ConfigError, match="does not parse"):
        load_grid(bad)


def test_ray_executor_without_ray_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    with pytest.raises(BackendUnavailableError, match=r"mmnet-edge\[ray\]"):
        make_executor(replace(BASE, executor="ray"))
    res = CliRunner().invoke(
        cli, ["train", "--config", "tiny", "--executor", "ray", "-o", str(tmp_path)]
    )
    assert res.exit_code != 0 and "mmnet-edge[ray]" in res.output
    assert not (tmp_path / "folds").exists()
    with pytest.raises(ConfigError, match="unknown executor"):
        make_executor(replace(BASE, executor="dask"))
