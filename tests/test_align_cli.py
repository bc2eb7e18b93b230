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


def test_align_video_streams_and_settings_invalidate_cache(photo, detector_model_path, tmp_path):
    video = tmp_path / "take.avi"
    h, w = photo.shape[:2]
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (w, h))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MJPG video")
    for dx in (0, 1, 2):
        writer.write(np.roll(photo, dx, axis=1))
    writer.release()
    out = tmp_path / "out"
    base = ["align", str(video), "--out", str(out), "--detector", str(detector_model_path)]
    res = CliRunner().invoke(cli, [*base, "--size", "112"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "take").glob("*.png")) == [
        "00000.png",
        "00001.png",
        "00002.png",
    ]
    assert cv2.imread(str(out / "take" / "00000.png")).shape == (112, 112, 3)
    res = CliRunner().invoke(cli, [*base, "--size", "96"])  # other settings: redone
    assert "wrote 3" in res.output
    assert cv2.imread(str(out / "take" / "00000.png")).shape == (96, 96, 3)


def test_unreadable_video_is_an_input_error(tmp_path):
    from mmnet_edge.align import read_video
    from mmnet_edge.errors import InputError

    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(InputError, match="broken.mp4"):
        read_video(bad)
    with pytest.raises(InputError, match="not found"):
        read_video(tmp_path / "missing.mp4")
