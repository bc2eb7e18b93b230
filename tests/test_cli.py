"""The console script: help, version, info, and one-line typed errors."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

import mmnet_edge
from mmnet_edge.cli import COMMANDS, cli


def test_help_lists_every_command():
    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0
    for name in COMMANDS:
        assert name in res.output


def test_every_registered_command_imports():
    for name in COMMANDS:
        cmd = cli.get_command(None, name)  # type: ignore[arg-type]
        assert cmd is not None and cmd.name == name, name


def test_version():
    res = CliRunner().invoke(cli, ["--version"])
    assert mmnet_edge.__version__ in res.output


def test_info_json_on_checkpoint(tiny_checkpoint):
    res = CliRunner().invoke(cli, ["info", "--json", str(tiny_checkpoint)])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["kind"] == "checkpoint"
    assert d["input_size"] == 112
    assert d["parameters"] == 193_021
    assert d["class_names"][0] == "happiness"


def test_console_script_turns_sdk_errors_into_one_line(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    proc = subprocess.run(
        [sys.executable, "-c", "from mmnet_edge.cli import main; main()", "info", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "CheckpointError" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_import_is_light():
    code = (
        "import sys, mmnet_edge; "
        "bad = [m for m in ('onnxruntime', 'tensorrt', 'cv2', 'torch') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == ""
