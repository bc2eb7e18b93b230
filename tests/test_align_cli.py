"""``mmnet-edge align`` writes onset-locked crops for pairs, folders and videos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mmnet_edge.cli import cli


@pytest.fixture(scope="module")
def photo():
    return pytest.importorskip("skimage.data").astronaut()[:, :, ::-1].copy()


def test_align_pair_and_folder(photo, detector_model_path, tmp_path):
    cv2.imwrite(str(tmp_path / "onset.png"), photo)
    cv2.imwrite(str(tmp_path / "apex.png"), photo)
    out = tmp_path / "out"
    args = [
        "align",
        str(tmp_path / "onset.png"),
        str(tmp_path / "apex.png"),
        "--out",
        str(out),
        "--detector",
        str(detector_model_path),
        "--size",
        "112",
    ]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    crops = sorted((out / "pair").glob("*.png"))
    assert [p.stem for p in crops] == ["apex", "onset"]
    a, b = (cv2.imread(str(p)) for p in crops)
    assert a.shape == (112, 112, 3) and np.array_equal(a, b)

    clip = tmp_path / "clip"
    clip.mkdir()
    for i in (1, 2, 10):
        cv2.imwrite(str(clip / f"img{i}.png"), photo)
    res = CliRunner().invoke(
        cli, ["align", str(clip), "--out", str(out), "--detector", str(detector_model_path)]
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.stem for p in (out / "clip").glob("*.png")) == ["img1", "img10", "img2"]
    # cached: a second run skips the finished clip
    (out / "clip" / "img1.png").unlink()
    CliRunner().invoke(
        cli, ["align", str(clip), "--out", str(out), "--detector", str(detector_model_path)]
    )
    assert not (out / "clip" / "img1.png").exists()


def test_align_rejects_other_inputs(tmp_path, detector_model_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("x")
    res = CliRunner().invoke(
        cli,
        ["align", str(bad), "--out", str(tmp_path / "o"), "--detector", str(detector_model_path)],
    )
    assert res.exit_code != 0
