"""``mmnet-edge align`` / ``align_to_disk``: onset-locked crops for pairs, folders and videos."""

from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mmnet_edge.align import Aligner, YuNetDetector
from mmnet_edge.align.to_disk import MANIFEST, align_to_disk
from mmnet_edge.cli import cli, main
from mmnet_edge.errors import OutputError


@pytest.fixture(scope="module")
def photo():
    return pytest.importorskip("skimage.data").astronaut()[:, :, ::-1].copy()


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """The console entry point in-process: (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", ["mmnet-edge", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code, capsys.readouterr().err


def warp(bgr: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """The crop a transform gives (BGR in, BGR out, as the PNG stores it)."""
    return cv2.warpAffine(
        bgr, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def test_pair_crops_both_frames_with_the_onset_transform(photo, detector_model_path, tmp_path):
    onset, apex = photo, np.roll(photo, 12, axis=1)  # the apex: the whole frame 12 px right
    cv2.imwrite(str(tmp_path / "onset.png"), onset)
    cv2.imwrite(str(tmp_path / "apex.png"), apex)
    out = tmp_path / "out"
    args = [str(tmp_path / "onset.png"), str(tmp_path / "apex.png"), "--out", str(out)]
    res = CliRunner().invoke(
        cli, ["align", *args, "--detector", str(detector_model_path), "--size", "112"]
    )
    assert res.exit_code == 0, res.output
    assert res.output.strip().endswith(f"wrote 2 aligned crops to {out}")
    assert sorted(p.name for p in (out / "pair").iterdir()) == [
        "align.json",
        "apex.png",
        "onset.png",
    ]
    m = np.array(json.loads((out / "pair" / MANIFEST).read_text())["transform"]["matrix"])
    # the one transform is the one fitted on the onset, not on the (moved) apex
    det = YuNetDetector(detector_model_path)
    np.testing.assert_allclose(m, Aligner(det, output_size=112).fit(onset).matrix, atol=1e-9)
    apex_fit = Aligner(det, output_size=112).fit(apex).matrix
    assert abs(apex_fit[0, 2] - m[0, 2]) > 2.0  # a per-frame fit would have moved the crop
    # each PNG is its own frame under that transform: onset.png from onset, apex.png from apex
    got_on, got_ap = (cv2.imread(str(out / "pair" / n)) for n in ("onset.png", "apex.png"))
    assert np.array_equal(got_on, warp(onset, m, 112))
    assert np.array_equal(got_ap, warp(apex, m, 112))
    # ... so the face moved in the apex crop by the transform's image of the 12-px shift
    shift = m[:, :2] @ (12.0, 0.0)
    moved = cv2.warpAffine(
        got_on,
        np.float64([[1, 0, shift[0]], [0, 1, shift[1]]]),
        (112, 112),
        borderMode=cv2.BORDER_REPLICATE,
    )
    inner = (slice(10, -10), slice(10, -10))
    err_moved = np.abs(moved[inner].astype(float) - got_ap[inner]).mean()
    err_still = np.abs(got_on[inner].astype(float) - got_ap[inner]).mean()
    assert err_moved < 0.25 * err_still, (err_moved, err_still)


def test_folder_clip_natural_order_and_cache(photo, detector_model_path, tmp_path):
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in (1, 2, 10):
        cv2.imwrite(str(clip / f"img{i}.png"), np.roll(photo, i, axis=0))
    out = tmp_path / "out"
    args = ["align", str(clip), "--out", str(out), "--detector", str(detector_model_path)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "wrote 3 aligned crops" in res.output
    assert sorted(p.stem for p in (out / "clip").glob("*.png")) == ["img1", "img10", "img2"]
    # cached: a second run skips the finished clip (it trusts align.json)
    (out / "clip" / "img1.png").unlink()
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert f"all 1 clip(s) already aligned in {out}" in res.output
    assert not (out / "clip" / "img1.png").exists()


def test_align_rejects_other_inputs(tmp_path, detector_model_path, monkeypatch, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("x")
    out = tmp_path / "o"
    code, err = run_main(
        monkeypatch,
        capsys,
        "align",
        str(bad),
        "--out",
        str(out),
        "--detector",
        str(detector_model_path),
    )
    assert code == 1
    assert err.strip() == (
        f"error: InputError: {bad}: give two images (onset apex), folders of frames or video files"
    )
    assert not out.exists()
    code, err = run_main(
        monkeypatch, capsys, "align", str(tmp_path / "gone.png"), "--out", str(out)
    )
    assert code == 2  # click's usage error: the path must exist
    assert "gone.png' does not exist" in err


def test_failed_crop_write_is_an_error_and_leaves_no_manifest(
    photo, detector_model_path, tmp_path, monkeypatch, capsys
):
    """Issue 15: a full disk must not end in exit 0, a manifest and a false "already aligned"."""
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in (1, 2, 3):
        cv2.imwrite(str(clip / f"img{i}.png"), photo)
    out = tmp_path / "out"
    real_imwrite = cv2.imwrite

    def disk_full_for_img2(path, img, *a):
        return False if "img2" in str(path) else real_imwrite(path, img, *a)

    monkeypatch.setattr(cv2, "imwrite", disk_full_for_img2)
    with pytest.raises(OutputError, match=r"could not write .*clip/img2\.png"):
        align_to_disk([clip], out, detector=detector_model_path, size=64)
    assert not (out / "clip" / MANIFEST).exists()
    assert sorted(p.name for p in (out / "clip").iterdir()) == ["img1.png"]  # no partial files
    args = ["align", str(clip), "--out", str(out), "--detector", str(detector_model_path)]
    code, err = run_main(monkeypatch, capsys, *args, "--size", "64")
    assert code == 1
    last = err.strip().splitlines()[-1]  # after the progress bar
    assert last.startswith(f"error: OutputError: could not write {out / 'clip' / 'img2.png'}")
    assert not (out / "clip" / MANIFEST).exists()

    monkeypatch.setattr(cv2, "imwrite", real_imwrite)  # space freed: the rerun redoes the clip
    res = CliRunner().invoke(cli, [*args, "--size", "64"])
    assert res.exit_code == 0, res.output
    assert "wrote 3 aligned crops" in res.output and "already aligned" not in res.output
    assert sorted(p.name for p in (out / "clip").iterdir()) == [
        "align.json",
        "img1.png",
        "img2.png",
        "img3.png",
    ]


def test_align_to_disk_api_reports_each_clip(photo, detector_model_path, tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "f0.png"), photo)
        cv2.imwrite(str(tmp_path / name / "f1.png"), photo)
    out = tmp_path / "out"
    first = align_to_disk([tmp_path / "a"], out, detector=detector_model_path, size=64)
    assert [(c.name, c.written, c.cached) for c in first.clips] == [("a", 2, False)]
    both = align_to_disk(
        [tmp_path / "a", tmp_path / "b"], out, detector=YuNetDetector(detector_model_path), size=64
    )
    assert [(c.name, c.written, c.cached) for c in both.clips] == [("a", 0, True), ("b", 2, False)]
    assert both.written == 2 and not both.all_cached
    assert both.clips[1].folder == out / "b"


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
    from mmnet_edge.errors import InputError
    from mmnet_edge.io import read_video

    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(InputError, match="broken.mp4"):
        read_video(bad)
    with pytest.raises(InputError, match="not found"):
        read_video(tmp_path / "missing.mp4")


def test_redone_clip_removes_temporaries_of_a_killed_run(photo, detector_model_path, tmp_path):
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(2):
        cv2.imwrite(str(clip / f"f{i}.png"), photo)
    out = tmp_path / "out"
    (out / "clip").mkdir(parents=True)
    stale = out / "clip" / ".f0.tmp-x1y2.png"  # what a SIGKILL during a write leaves
    stale.write_bytes(b"partial")
    res = align_to_disk([clip], out, detector=detector_model_path, size=64)
    assert res.clips[0].written == 2
    assert not stale.exists()
    assert sorted(p.name for p in (out / "clip").iterdir()) == ["align.json", "f0.png", "f1.png"]
