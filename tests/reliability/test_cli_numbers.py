"""Numeric CLI options are validated by click: a bad value is a usage error (exit 2) that
names the option, before any work starts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mmnet_edge.cli import cli

MODEL = "model.onnx"  # never opened: validation fails first

# (command line, option named in the error)
CASES = [
    (["train", "--batch-size", "abc"], "--batch-size"),
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--lr", "nan"], "--lr"),
    (["train", "--lr", "inf"], "--lr"),
    (["train", "--lr", "-0.1"], "--lr"),
    (["train", "--threads", "-2"], "--threads"),
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--weight-decay", "nan"], "--weight-decay"),
    (["train", "--gamma", "0"], "--gamma"),
    (["train", "--holdout-fraction", "1.5"], "--holdout-fraction"),
    (["train", "--max-folds", "0"], "--max-folds"),
    (["train", "--workers", "-1"], "--workers"),
    (["train", "--synthetic-size", "-5"], "--synthetic-size"),
    (["calibrate", "build", "synthetic", "-o", "c.npz", "--size", "-5"], "--size"),
    (["calibrate", "build", "synthetic", "-o", "c.npz", "--limit", "0"], "--limit"),
    (["calibrate", "build", "synthetic", "-o", "c.npz", "--per-class", "abc"], "--per-class"),
    (["align", "x", "--out", "o", "--size", "-5"], "--size"),
    (["align", "x", "--out", "o", "--margin", "nan"], "--margin"),
    (["align", "x", "--out", "o", "--refine", "-1"], "--refine"),
    (["predict", MODEL, "a.png", "--precision", "bogus"], "--precision"),
    (["predict", MODEL, "a.mp4", "--onset-index", "-1"], "--onset-index"),
    (["demo", "--subjects", "1"], "--subjects"),
    (["demo", "--bench-iters", "0"], "--bench-iters"),
    (["demo", "--epochs", "abc"], "--epochs"),
]


@pytest.mark.parametrize(("args", "option"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_number_is_a_usage_error_naming_the_option(args, option, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in (MODEL, "a.png", "a.mp4", "x"):
        (tmp_path / name).write_bytes(b"")  # exists=True paths pass; numbers must fail first
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert option in res.output
    assert not list(tmp_path.glob("*.npz")) and not (tmp_path / "o").exists()
