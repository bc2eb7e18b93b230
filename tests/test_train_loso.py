"""Training driver: report files and keys, resumable folds, final checkpoint, protocols."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mmnet_edge.checkpoint import load_checkpoint
from mmnet_edge.cli import cli
from mmnet_edge.data import holdout_split, loso_folds
from mmnet_edge.data.synthetic import generate_synthetic
from mmnet_edge.errors import ConfigError, DatasetError
from mmnet_edge.train import TrainConfig, train
from mmnet_edge.train.device import select_device
from tests.train_fixtures import TINY_SET, tiny_run


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_loso_folds_are_subject_disjoint() -> None:
    ds = generate_synthetic(TINY_SET)
    folds = loso_folds(ds.samples)
    assert [f.name for f in folds] == ["sub01", "sub02", "sub03"]
    for f in folds:
        assert f.test_subjects == [f.name]
        assert f.name not in f.train_subjects
        assert len(f.train) + len(f.test) == len(ds)
    hold = holdout_split(ds.samples, 0.34, seed=1)
    assert set(hold.test_subjects).isdisjoint(hold.train_subjects) and len(hold.test_subjects) == 1
    with pytest.raises(DatasetError, match="at least 2 subjects"):
        loso_folds([s for s in ds if s.subject == "sub01"])


def test_cli_train_writes_report_checkpoints_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [
        "train", "--dataset", "synthetic", "--config", "tiny", "--protocol", "loso",
        "--epochs", "1", "--batch-size", "8", "--output", str(out), "--quiet",
        "--synthetic-subjects", "2", "--synthetic-per-class", "1", "--synthetic-size", "64",
        "--report-best-epoch", "--device", "cpu",
    ]  # fmt: skip
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "UF1" in res.output and "test-set selected (leaks)" in res.output
    report = json.loads((out / "report.json").read_text())
    for key in ("accuracy", "uf1", "uar", "per_class", "confusion_matrix", "class_names",
                "protocol", "folds", "seed"):  # fmt: skip
        assert key in report
    assert report["protocol"] == "loso" and report["leakage_free"] is True
    assert len(report["folds"]) == 2 and report["n_test_samples"] == 10
    assert sum(map(sum, report["confusion_matrix"])) == 10
    assert report["best_epoch"]["label"] == "test-set selected (leaks)"
    assert (out / "report.md").read_text().startswith("# MMNet training report")
    assert (out / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    for subj in ("sub01", "sub02"):
        assert (
            load_checkpoint(out / "folds" / f"{subj}.safetensors").metadata.config.input_size == 112
        )  # noqa: E501
    final = load_checkpoint(out / "model.safetensors")
    assert final.metadata.class_names == tuple(report["class_names"])
    assert final.metadata.training["evaluation"]["uf1"] == report["uf1"]
    assert final.metadata.training["dataset"] == "synthetic"

    # rerun: finished folds (and the final model) are reused, not retrained
    mtime = (out / "folds" / "sub01.safetensors").stat().st_mtime_ns
    res2 = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res2.exit_code == 0
    report2 = json.loads((out / "report.json").read_text())
    assert all(f["resumed"] for f in report2["folds"])
    assert report2["confusion_matrix"] == report["confusion_matrix"]
    assert (out / "folds" / "sub01.safetensors").stat().st_mtime_ns == mtime
    # another thread count trains other weights: its folds are not reused
    other = 1 if report["folds"][0]["threads"] != 1 else 2
    res3 = CliRunner().invoke(cli, [*args, "--threads", str(other)], catch_exceptions=False)
    assert res3.exit_code == 0
    report3 = json.loads((out / "report.json").read_text())
    assert not any(f["resumed"] for f in report3["folds"])
    assert {f["threads"] for f in report3["folds"]} == {other}


def test_holdout_python_api_without_final_model(tmp_path: Path) -> None:
    result = train(tiny_run(tmp_path, protocol="holdout", threads=None))
    assert result.model_path is None and not (tmp_path / "model.safetensors").exists()
    assert [f.name for f in result.folds] == ["holdout"]
    assert result.metrics.n == result.folds[0].n_test == 5  # one subject of 3
    assert "best_epoch" not in result.report


def test_normalisation_comes_from_the_config_and_is_recorded(tmp_path: Path) -> None:
    from dataclasses import replace

    from mmnet_edge.metadata import IMAGENET_MEAN, IMAGENET_STD
    from mmnet_edge.train import predict_samples

    cfg = tiny_run(
        tmp_path / "a",
        protocol="holdout",
        threads=None,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
    )
    result = train(cfg)
    ckpt = load_checkpoint(tmp_path / "a" / result.folds[0].checkpoint)
    assert ckpt.metadata.mean == (0.5, 0.5, 0.5) and ckpt.metadata.std == (0.25, 0.25, 0.25)
    assert ckpt.metadata.input_size == 112  # from the model preset, not the data
    # the fold was evaluated with the recorded normalisation
    test = holdout_split(generate_synthetic(TINY_SET).samples, cfg.holdout_fraction, cfg.seed).test
    cpu = torch.device("cpu")
    logits = predict_samples(ckpt.model, test, cpu, mean=ckpt.metadata.mean, std=ckpt.metadata.std)
    assert logits.argmax(1).tolist() == result.folds[0].y_pred
    # a different normalisation is a different run (no resume across it)
    default = replace(cfg, output=tmp_path / "b", mean=IMAGENET_MEAN, std=IMAGENET_STD)
    assert train(default).report["fingerprint"] != result.report["fingerprint"]


def test_bad_training_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="protocol"):
        train(TrainConfig(protocol="kfold", synthetic=TINY_SET, output=tmp_path, model="tiny"))  # type: ignore[arg-type]  # noqa: E501
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=0).recipe()
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA"):
            select_device("cuda")
    assert select_device("cpu").type == "cpu"
    with pytest.raises(DatasetError, match="unknown dataset"):
        train(TrainConfig(dataset="nope", output=tmp_path))


def test_trains_from_casme2_layout_on_disk(tmp_path: Path) -> None:
    from mmnet_edge.data.casme2_writer import write_casme2_layout

    root = write_casme2_layout(TINY_SET, tmp_path / "casme2")
    result = train(
        tiny_run(
            tmp_path / "out", dataset="casme2", root=root, synthetic=None, max_folds=1, threads=None
        )
    )
    assert [f.name for f in result.folds] == ["sub01"]
    assert result.report["dataset"]["dataset"] == "casme2"
    assert result.report["dataset"]["samples"] == 15 and result.metrics.n == 5


def test_dataloader_workers_do_not_change_the_weights(tmp_path: Path) -> None:
    """Shuffle and augmentation depend on the seed and the epoch only: ``--workers 1``
    trains a fold bit for bit like ``--workers 0`` (persistent workers used to shuffle
    differently and keep augmenting as in the first epoch from the second epoch on).

    Trained in a fresh process: a DataLoader worker forked from the test process, which by
    then holds OpenVINO's and ONNX Runtime's thread pools, crashed it (SIGSEGV)."""
    import subprocess
    import sys

    from safetensors.numpy import load_file

    code = f"""
import sys
from dataclasses import replace
from pathlib import Path
from mmnet_edge.data.synthetic import SyntheticConfig
from mmnet_edge.train import TrainConfig, train
cfg = TrainConfig(model="tiny", protocol="holdout", epochs=2, batch_size=4,
                  synthetic=SyntheticConfig(subjects={TINY_SET.subjects},
                  samples_per_class={TINY_SET.samples_per_class},
                  image_size={TINY_SET.image_size}, seed={TINY_SET.seed}),
                  final_model=False, progress=False, device="cpu")
for workers in (0, 1):
    out = Path(sys.argv[1]) / f"w{{workers}}"
    res = train(replace(cfg, num_workers=workers, output=out))
    print(out / res.folds[0].checkpoint)
"""
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    a, b = (load_file(p) for p in proc.stdout.split())
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
