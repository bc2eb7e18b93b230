"""File-system faults end in a typed error naming the path; damaged resume state is redone."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from mmnet_edge.cli import cli
from mmnet_edge.demo import DemoResult, DemoSettings, print_summary, run_demo
from mmnet_edge.errors import OutputError
from mmnet_edge.train import TrainConfig, train
from tests.test_reference import random_reference_state_dict
from tests.train_fixtures import TINY_SET, tiny_run


def config(out: Path, **kw: object) -> TrainConfig:
    """The shared tiny run with two subjects (two LOSO folds)."""
    return tiny_run(out, synthetic=replace(TINY_SET, subjects=2), **kw)


@pytest.fixture
def blocker(tmp_path: Path) -> Path:
    """A regular file where a folder is expected: fails for root too (unlike chmod)."""
    path = tmp_path / "not-a-folder"
    path.write_text("x")
    return path


@pytest.mark.parametrize("damage", ["truncate", "empty", "not an object", "wrong types"])
def test_damaged_fold_record_is_retrained_not_fatal(tmp_path, damage):
    out = tmp_path / "run"
    first = train(config(out))
    rec = out / "folds" / "sub01.json"
    text = rec.read_text()
    rec.write_text(
        {
            "truncate": text[: len(text) // 2],
            "empty": "",
            "not an object": "[1, 2]",
            "wrong types": json.dumps(
                {"fingerprint": json.loads(text)["fingerprint"], "result": {"name": 3}}
            ),
        }[damage]
    )
    with pytest.warns(UserWarning, match="damaged"):
        second = train(config(out))
    by_name = {f.name: f for f in second.folds}
    assert by_name["sub01"].resumed is False and by_name["sub02"].resumed is True
    assert second.metrics.confusion_matrix == first.metrics.confusion_matrix  # seeded per fold
    assert json.loads(rec.read_text())["result"]["name"] == "sub01"  # rewritten whole


def test_missing_fold_checkpoint_is_retrained(tmp_path):
    out = tmp_path / "run"
    train(config(out))
    (out / "folds" / "sub02.safetensors").unlink()
    again = train(config(out))
    assert {f.name: f.resumed for f in again.folds} == {"sub01": True, "sub02": False}
    assert (out / "folds" / "sub02.safetensors").is_file()


def test_train_into_an_unwritable_place(blocker):
    with pytest.raises(OutputError, match=re.escape(str(blocker))):
        train(config(blocker / "run"))
    res = CliRunner().invoke(cli, ["train", "--output", str(blocker / "run"), "--quiet"])
    assert res.exit_code != 0 and isinstance(res.exception, OutputError)


def test_convert_weights_into_an_unwritable_place(tmp_path, blocker):
    src = tmp_path / "authors.pth"
    torch.save(random_reference_state_dict(0), src)
    dst = blocker / "mmnet.safetensors"
    res = CliRunner().invoke(cli, ["convert-weights", str(src), str(dst)])
    assert isinstance(res.exception, OutputError), res.output
    assert str(dst) in str(res.exception)


def test_demo_into_an_unwritable_place(blocker):
    with pytest.raises(OutputError, match=re.escape(str(blocker))):
        run_demo(DemoSettings(output=blocker / "demo"))


def test_demo_summary_formats_every_number(capsys):
    third = 1 / 3
    res = DemoResult(
        summary={
            "train": {"accuracy": third, "uf1": 2 / 7, "uar": third, "chance_uf1": None},
            "int8": {"int8-cpu": {"top1_agreement": 0.9876543, "uf1_delta": -1 / 70}},
            "bench": [
                {
                    "backend": "onnxruntime",
                    "precision": "fp32",
                    "batch": 1,
                    "status": "ok",
                    "p50_ms": 12.3456789,
                    "vs_ort_fp32": 1.0,
                },
                {
                    "backend": "tensorrt",
                    "precision": "fp16",
                    "batch": 1,
                    "status": "skipped",
                    "reason": "TensorRT not installed",
                },
            ],  # fmt: skip
            "predict": {"status": "ok", "label": "others", "confidence": 0.4567891},
            "tensorrt": {"status": "skipped", "reason": "TensorRT not installed"},
            "elapsed_s": 123.456789,
        }
    )
    print_summary(res)
    out = capsys.readouterr().out
    assert not re.search(r"\d\.\d{5,}", out), out  # no raw floats
    assert "UF1 Δ -0.014" in out and "chance UF1 ≈ n/a" in out
