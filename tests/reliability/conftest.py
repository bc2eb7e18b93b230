"""Reliability suite: every case of issue 15 (bad input, faults, kills, soak, threads).

Every test here carries the ``reliability`` marker, so the suite runs alone with
``pytest -m reliability`` (add ``-m "reliability and not slow"`` for the quick part).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mmnet_edge.export.onnx import export_onnx

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session")
def tiny_onnx(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint exported to (validated) ONNX."""
    return export_onnx(tiny_checkpoint, tmp_path_factory.mktemp("rel-onnx") / "model.onnx").path


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """Environment for child ``python`` processes: this checkout first on the path."""
    env = dict(os.environ)
    repo = str(HERE.parents[1])
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


PYTHON = sys.executable
