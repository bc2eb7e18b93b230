"""Clips of any length: bounded memory, every frame analysed, one size and channel count."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmnet_edge import Runtime
from mmnet_edge.errors import InputError

FRAMES = 2_100  # beyond the old silent 2,000-frame cap
APEX = 2_050
SIDE = 48


def long_video(path: Path, frames: int = FRAMES, apex: int = APEX) -> Path:
    """A static textured face-sized frame; one region brightens up to ``apex``, then fades."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 255, (SIDE, SIDE, 3), dtype=np.uint8), (0, 0), 2)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 25, (SIDE, SIDE))
    assert writer.isOpened(), "this OpenCV build cannot write FFV1"
    for i in range(frames):
        f = base.astype(np.int16)
        strength = max(0, 30 - abs(i - apex)) * 3  # a 60-frame event peaking at ``apex``
        f[10:24, 12:30] += strength
        writer.write(np.clip(f, 0, 255).astype(np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return long_video(tmp_path_factory.mktemp("clip") / "long.avi")


def test_long_video_is_analysed_whole_in_bounded_memory(tiny_onnx, video):
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        rt.predict_clip(video)  # warm up (ORT arenas, codec) outside the measurement
        tracemalloc.start()
        try:
            res = rt.predict_clip(video)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert res.frames_analysed == FRAMES
    assert len(res.motion) == FRAMES
    assert abs(res.apex_index - APEX) <= 2, "the apex lies beyond frame 2,000: no silent cap"
    held = FRAMES * SIDE * SIDE * 3  # what keeping every decoded frame would cost
    assert peak < 4_000_000 < held, f"peak {peak / 1e6:.1f} MB: frames are being kept"


def test_memory_does_not_grow_with_clip_length(tiny_onnx, tmp_path):
    short = long_video(tmp_path / "short.avi", frames=300, apex=250)
    longer = long_video(tmp_path / "long.avi", frames=1_200, apex=1_150)
    peaks = []
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        rt.predict_clip(short)
        for path in (short, longer):
            tracemalloc.start()
            try:
                res = rt.predict_clip(path)
                peaks.append(tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
            assert res.frames_analysed in (300, 1_200)
    # 4× the frames: only the motion curve (8 bytes a frame) may grow
    assert peaks[1] < peaks[0] + 900 * 64 + 200_000, peaks


def test_folder_of_frames_and_onset_index(tiny_onnx, tmp_path):
    cap = cv2.VideoCapture(str(long_video(tmp_path / "v.avi", frames=40, apex=30)))
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(40):
        ok, frame = cap.read()
        assert ok
        cv2.imwrite(str(folder / f"img{i}.png"), frame)
    cap.release()
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        res = rt.predict_clip(folder, onset_index=5)
    assert res.frames_analysed == 40 and res.onset_index == 5
    assert abs(res.apex_index - 30) <= 2
    assert res.motion[5] == 0.0


_RNG = np.random.default_rng(7)
_COLOUR48 = _RNG.integers(0, 255, (48, 48, 3), dtype=np.uint8)
_COLOUR60 = _RNG.integers(0, 255, (60, 60, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("case", "second", "phrase"),
    [
        ("smaller", np.zeros((40, 48, 3), np.uint8), "one size"),
        ("grey", np.zeros((48, 48), np.uint8), "frame 2 is grey but frame 0 is colour"),
    ],
)
def test_clip_frames_must_match(tiny_onnx, case, second, phrase):
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        with pytest.raises(InputError, match=phrase):
            rt.predict_clip([_COLOUR48, _COLOUR48, second])


@pytest.mark.parametrize(
    ("case", "onset", "apex", "phrase"),
    [
        ("size", np.zeros((60, 60, 3), np.uint8), np.zeros((50, 60, 3), np.uint8), "sizes"),
        ("grey vs colour", np.zeros((60, 60), np.uint8), _COLOUR60, "onset grey but apex colour"),
    ],
)
def test_pair_frames_must_match_in_size_and_camera_mode(tiny_onnx, case, onset, apex, phrase):
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        with pytest.raises(InputError, match=phrase):
            rt.predict(onset, apex)


def test_alpha_is_dropped_alike_in_pairs_and_clips(tiny_onnx):
    """RGBA next to RGB is the same camera (a PNG with alpha next to a JPEG): accepted."""
    import cv2

    rgba = cv2.cvtColor(_COLOUR60, cv2.COLOR_BGR2BGRA)
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        a = rt.predict(rgba, _COLOUR60).logits
        b = rt.predict(_COLOUR60, _COLOUR60).logits
        np.testing.assert_allclose(a, b, atol=1e-6)
        rt.predict_clip([_COLOUR60, rgba, _COLOUR60])


def test_clip_errors_are_typed(tiny_onnx, tmp_path):
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        for bad, phrase in (
            ([], "at least two frames"),
            ([np.zeros((8, 8, 3), np.uint8)], "at least two frames"),
            (tmp_path / "missing.mp4", "not found"),
            (42, "a clip is a list of frames"),
        ):
            with pytest.raises(InputError, match=phrase):
                rt.predict_clip(bad)  # type: ignore[arg-type]
        with pytest.raises(InputError, match="outside the clip"):
            rt.predict_clip([np.zeros((8, 8, 3), np.uint8)] * 3, onset_index=3)
