"""``mmnet-edge watch``: events printed live from a video, an annotated copy written, clear
errors for what cannot be opened."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mmnet_edge.cli import cli
from mmnet_edge.errors import InputError


@pytest.fixture(scope="module")
def event_video(tmp_path_factory):
    """The astronaut portrait (a face YuNet finds), still, then a local motion for a few
    frames, then still again: one event."""
    skimage_data = pytest.importorskip("skimage.data")
    photo = np.ascontiguousarray(skimage_data.astronaut()[:, :, ::-1])
    moved = photo.copy()
    moved[180:240, 160:290] = np.clip(photo[180:240, 160:290].astype(int) + 60, 0, 255)
    path = tmp_path_factory.mktemp("watch") / "clip.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (512, 512))
    for f in [photo] * 8 + [moved] * 5 + [photo] * 8:
        w.write(f)
    w.release()
    return path


@pytest.fixture(scope="module")
def onnx_model(tiny_checkpoint, tmp_path_factory):
    from mmnet_edge.export.onnx import export_onnx

    return export_onnx(tiny_checkpoint, tmp_path_factory.mktemp("wm") / "model.onnx").path


def test_watch_prints_events_and_saves_an_annotated_video(onnx_model, event_video, tmp_path):
    out = tmp_path / "annotated.mp4"
    res = CliRunner().invoke(
        cli, ["watch", str(onnx_model), str(event_video), "--save", str(out), "--window", "12"]
    )
    assert res.exit_code == 0, res.output
    (event,) = [ln for ln in res.output.splitlines() if " s  " in ln]
    time_s, label, conf = event.split()[0], event.split()[2], float(event.split()[3])
    assert 8 / 25 <= float(time_s) <= 21 / 25  # printed when the planted motion ended
    assert "apex frame 8" in event and 0 < conf <= 1 and label.isalpha()
    assert f"21 frames, 1 event(s): {label} 1; annotated video" in res.output
    cap = cv2.VideoCapture(str(out))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = cap.read()
    cap.release()
    assert ok and first.shape == (512, 512, 3) and n == 21
    # box and landmarks drawn over the face: the first frame differs from the plain photo
    skimage_data = pytest.importorskip("skimage.data")
    photo = skimage_data.astronaut()[:, :, ::-1].astype(int)
    assert (np.abs(first.astype(int) - photo).sum(2) > 120).sum() > 500


def test_watch_refuses_what_it_cannot_open(onnx_model, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    res = CliRunner().invoke(cli, ["watch", str(onnx_model), str(bad)])
    assert isinstance(res.exception, InputError) and "cannot open video" in str(res.exception)
    res = CliRunner().invoke(cli, ["watch", str(onnx_model), "--camera", "57"])
    assert isinstance(res.exception, InputError) and "cannot open camera 57" in str(res.exception)
    res = CliRunner().invoke(cli, ["watch", str(onnx_model)])
    assert isinstance(res.exception, InputError) and "--camera" in str(res.exception)
