"""Shared fixtures. Everything is generated locally; nothing is downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from mmnet_edge.checkpoint import save_checkpoint
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.model import MMNet, create_config

REPO = Path(__file__).resolve().parents[1]
SHARED_DETECTOR = REPO.parent / "shared" / "models" / "face_detection_yunet.onnx"


@pytest.fixture(scope="session")
def detector_model_path() -> Path:
    """YuNet model from ../shared (tests/CI only); skip if this checkout has none."""
    env = os.environ.get("MMNET_EDGE_FACE_DETECTOR")
    for cand in (Path(env) if env else None, SHARED_DETECTOR):
        if cand is not None and cand.is_file():
            return cand
    pytest.skip("face detector model not found (../shared/models/face_detection_yunet.onnx)")


def make_tiny_model(seed: int = 0, num_classes: int = 5) -> MMNet:
    torch.manual_seed(seed)
    model = MMNet(create_config("tiny", num_classes)).eval()
    # Non-trivial BN statistics so eval-mode outputs are not degenerate.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny (112×112, 5-class) checkpoint with random weights."""
    model = make_tiny_model()
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_checkpoint(model, ModelMetadata(config=model.config), path)
    return path


DEFAULT_TIMEOUT_S = 300  # per test; a hung backend or video decoder fails instead of blocking CI


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every test a timeout (pytest-timeout) unless one is set on the command line,
    in the ini options, in ``PYTEST_TIMEOUT`` or by a ``@pytest.mark.timeout`` marker."""
    configured = (
        config.getoption("timeout", None) is not None
        or config.getini("timeout")
        or os.environ.get("PYTEST_TIMEOUT")
    )
    if configured or not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT_S))
