"""A full disk (a small tmpfs): every writer fails with OutputError naming the path, and
nothing half-written is left at a final name."""

from __future__ import annotations

import shutil
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmnet_edge.align.detector import CallerSuppliedDetector
from mmnet_edge.align.to_disk import MANIFEST, align_to_disk
from mmnet_edge.calibration.sources import build_set
from mmnet_edge.checkpoint import save_checkpoint
from mmnet_edge.errors import MMNetEdgeError, OutputError
from mmnet_edge.metadata import ModelMetadata
from tests.conftest import make_tiny_model


@pytest.fixture
def full_disk(tmp_path) -> Iterator[Path]:
    """A 1 MiB tmpfs, nearly filled; skipped where mounting is not allowed."""
    mnt = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {res.stderr.strip()}")
    try:
        (mnt / "filler").write_bytes(b"\0" * (1024 * 1024 - 96 * 1024))  # ~96 KiB left
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if ".tmp" in p.name]


def test_checkpoint_on_a_full_disk(full_disk):
    model = make_tiny_model()
    dst = full_disk / "model.safetensors"
    with pytest.raises(OutputError, match=str(dst)):
        save_checkpoint(model, ModelMetadata(config=model.config), dst)
    assert not dst.exists() and no_temporaries(full_disk)


def test_calibration_set_on_a_full_disk(full_disk):
    dst = full_disk / "calib.npz"
    with warnings.catch_warnings(), pytest.raises(OutputError, match="calib"):
        warnings.simplefilter("ignore")
        build_set("synthetic", dst, input_size=112, subjects=2, per_class=4)
    assert not dst.exists() and not dst.with_suffix(".json").exists()
    assert no_temporaries(full_disk)


def test_aligned_crops_on_a_full_disk(full_disk, tmp_path):
    frames = tmp_path / "clip"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):  # noise: PNGs that do not compress
        cv2.imwrite(str(frames / f"img{i}.png"), rng.integers(0, 255, (240, 240, 3), np.uint8))
    out = full_disk / "aligned"
    detector = CallerSuppliedDetector(box=(20, 20, 200, 200))
    with pytest.raises(OutputError, match="check that the disk has space|could not write"):
        align_to_disk([frames], out, detector=detector, size=224)
    assert not (out / "clip" / MANIFEST).exists(), "no manifest for an incomplete clip"
    for png in (out / "clip").glob("*.png"):
        img = cv2.imread(str(png))
        assert img is not None and img.shape == (224, 224, 3), f"{png} is half-written"
    assert no_temporaries(full_disk)


def test_onnx_export_on_a_full_disk(full_disk, tiny_checkpoint):
    from mmnet_edge.export.onnx import export_onnx

    dst = full_disk / "model.onnx"
    with pytest.raises(MMNetEdgeError, match="model.onnx|space|write"):
        export_onnx(tiny_checkpoint, dst)
    assert not dst.exists() and no_temporaries(full_disk)
