"""``mmnet-edge bench``: numbers validated up front, an unwritable report path fails before
the benchmark runs (never after it, losing the results)."""

from __future__ import annotations

import sys

import pytest

from mmnet_edge.cli import main


def run(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["mmnet-edge", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out + out.err


@pytest.mark.parametrize(
    "option, value, name",
    [("--iters", "0", "--iters"), ("--threads", "-2", "--threads"), ("--gate", "1.5", "--gate")],
)
def test_bad_numbers_are_usage_errors(monkeypatch, capsys, tiny_onnx, option, value, name):
    code, text = run(monkeypatch, capsys, "bench", str(tiny_onnx), option, value)
    assert code == 2 and f"Invalid value for '{name}'" in text


def test_unwritable_report_path_fails_before_measuring(monkeypatch, capsys, tiny_onnx, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where a folder is needed
    code, text = run(
        monkeypatch,
        capsys,
        "bench",
        str(tiny_onnx),
        "--backend",
        "ort",
        "--iters",
        "2",
        "--json",
        str(blocker / "report.json"),
    )
    assert code == 1
    assert "OutputError" in text and "report.json" in text
    assert "p50" not in text  # nothing was measured
