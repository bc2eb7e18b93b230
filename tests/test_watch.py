"""``mmnet-edge watch``: events printed live from a video, an annotated copy written, clear
errors for what cannot be opened."""

from __future__ import annotations

import json
import os
import signal

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
    assert float(time_s) == pytest.approx(8 / 25, abs=0.005)  # the apex, in video time
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
    res = CliRunner().invoke(cli, ["watch", str(onnx_model), str(tmp_path / "absent.mp4")])
    assert isinstance(res.exception, InputError) and "no such video file" in str(res.exception)
    # a stream that cannot be reached is not called a corrupt file (port 9: nothing listens)
    res = CliRunner().invoke(cli, ["watch", str(onnx_model), "http://127.0.0.1:9/clip.mp4"])
    assert isinstance(res.exception, InputError) and "cannot open the stream" in str(res.exception)
    res = CliRunner().invoke(cli, ["watch", str(onnx_model), "--camera", "57"])
    assert isinstance(res.exception, InputError) and "cannot open camera 57" in str(res.exception)
    res = CliRunner().invoke(cli, ["watch", str(onnx_model)])
    assert isinstance(res.exception, InputError) and "--camera" in str(res.exception)
    res = CliRunner().invoke(cli, ["watch", str(onnx_model), str(tmp_path / "gone.mp4")])
    assert isinstance(res.exception, InputError) and "no such video file" in str(res.exception)


def test_watch_json_lines_for_integrators(onnx_model, event_video):
    res = CliRunner().invoke(
        cli, ["watch", str(onnx_model), str(event_video), "--window", "12", "--json"]
    )
    assert res.exit_code == 0, res.output
    lines = [json.loads(ln) for ln in res.stdout.splitlines()]  # status went to stderr
    (event,), summary = lines[:-1], lines[-1]
    assert event["apex_frame"] == 8 and event["time_s"] == pytest.approx(8 / 25, abs=0.005)
    assert event["confidence"] == pytest.approx(max(event["probabilities"].values()), abs=1e-3)
    assert event["label"] == max(event["probabilities"], key=event["probabilities"].get)
    assert summary["frames"] == 21 and summary["events"] == 1 and not summary["interrupted"]
    assert summary["counts"] == {event["label"]: 1}


def test_frames_without_a_face_are_skipped_not_fatal(onnx_model, event_video, tmp_path):
    """A kiosk camera sees nobody for a while: watch keeps going and spots the event after."""
    noise = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)
    cap = cv2.VideoCapture(str(event_video))
    frames = [noise] * 6 + [f for ok, f in iter(lambda: cap.read(), (False, None))]
    cap.release()
    path = tmp_path / "nobody_first.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (512, 512))
    for f in frames:
        w.write(f)
    w.release()
    res = CliRunner().invoke(cli, ["watch", str(onnx_model), str(path), "--window", "12"])
    assert res.exit_code == 0, res.output
    assert "no face in view" in res.output and "face found" in res.output
    (event,) = [ln for ln in res.stdout.splitlines() if " s  " in ln]
    assert "apex frame 14" in event  # 6 faceless frames + the planted apex at 8
    assert "27 frames (6 without a face), 1 event(s)" in res.output


class _FakeCamera:
    """Frames from a list, then what a camera does: Ctrl-C arrives, or the camera drops."""

    def __init__(self, frames, end):
        self.frames, self.end, self.released = list(frames), end, False

    def read(self):
        if self.frames:
            return True, self.frames.pop(0)
        if self.end == "ctrl-c":
            raise KeyboardInterrupt
        if self.end == "sigterm":  # systemctl stop
            os.kill(os.getpid(), signal.SIGTERM)
        return False, None

    def get(self, prop):
        return 0.0

    def release(self):
        self.released = True


# Only the unplugged camera runs in the suite's process by default: a real SIGTERM (or Ctrl-C)
# raised inside the long-lived pytest process, after OpenVINO has run there, crashed it
# (SIGSEGV: the OpenVINO + signal combination tests/test_bench_cache.py also avoids). The
# ctrl-c/sigterm cases run with MMNET_EDGE_SIGNAL_TESTS=1 pytest tests/test_watch.py.
_SIGNALS = pytest.mark.skipif(
    os.environ.get("MMNET_EDGE_SIGNAL_TESTS") != "1",
    reason="signals in the shared test process crash OpenVINO; MMNET_EDGE_SIGNAL_TESTS=1 "
    "pytest tests/test_watch.py runs them",
)


@pytest.mark.parametrize(
    "end",
    [pytest.param("ctrl-c", marks=_SIGNALS), pytest.param("sigterm", marks=_SIGNALS), "unplugged"],
)
def test_camera_stop_finalises_the_video(onnx_model, event_video, tmp_path, monkeypatch, end):
    import mmnet_edge.io.video as video_io

    cap = cv2.VideoCapture(str(event_video))
    frames = [f for ok, f in iter(lambda: cap.read(), (False, None))][:10]
    cap.release()
    camera = _FakeCamera(frames, end)
    monkeypatch.setattr(
        video_io, "open_capture", lambda video, cam: (camera, None, f"camera {cam}")
    )
    out = tmp_path / "cam.mp4"
    res = CliRunner().invoke(cli, ["watch", str(onnx_model), "--camera", "0", "--save", str(out)])
    assert camera.released
    if end in ("ctrl-c", "sigterm"):
        assert res.exit_code == 0 and "interrupted: 10 frames" in res.output
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler restored
    else:  # a kiosk supervisor sees the exit code; the summary came first
        assert isinstance(res.exception, InputError) and "stopped delivering" in str(res.exception)
        assert "10 frames, 0 event(s)" in res.output
    saved = cv2.VideoCapture(str(out))
    assert int(saved.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    assert saved.get(cv2.CAP_PROP_FPS) == pytest.approx(25.0)  # a camera without a rate
    saved.release()
