"""Inputs handled alike whatever the path (issue 23). Colour and grey: a pair or
clip that mixes them is refused — from files, arrays and clips (and serve, which calls the
same check) — while grey given as H×W, H×W×1 or a grey file is one and the same input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mmnet_edge import Runtime
from mmnet_edge.errors import InputError
from mmnet_edge.preprocess import as_rgb_uint8, check_same_kind, is_grey


@pytest.fixture()
def frames(tmp_path):
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)
    grey = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / "c.png"), colour)
    cv2.imwrite(str(tmp_path / "g.png"), grey)
    return colour, grey, tmp_path


def test_a_colour_grey_pair_is_refused_from_files_and_arrays_alike(tiny_onnx, frames):
    colour, grey, d = frames
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        for on, ap in (
            (colour, grey),
            (colour, grey[:, :, None]),
            (str(d / "c.png"), str(d / "g.png")),  # the grey file decodes to 3 equal channels
            (colour, cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)),
        ):
            with pytest.raises(InputError, match="apex grey but onset colour"):
                rt.predict(on, ap)
        with pytest.raises(InputError, match="frame 2 is grey but frame 0 is colour"):
            rt.predict_clip([colour, colour, grey, colour])
        # grey in every form is the same input
        a = rt.predict(grey, grey).logits
        b = rt.predict(grey[:, :, None], str(d / "g.png")).logits
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_a_stream_restarts_when_the_camera_switches_to_grey(tiny_onnx, frames):
    colour, grey, _ = frames
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        s = rt.stream(window=8)
        for _ in range(3):
            s.push(colour)
        held = s.buffered
        assert held >= 2
        s.push(grey)  # IR night mode: no pair may span the switch
        assert s.buffered < held and s.buffered <= 1  # started over from the grey frame


def test_the_check_itself():
    rng = np.random.default_rng(1)
    colour = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    grey = np.repeat(colour[:, :, :1], 3, axis=2)
    assert is_grey(grey) and not is_grey(colour)
    check_same_kind([grey, grey], ["onset", "apex"])
    with pytest.raises(InputError, match="onset grey but apex colour"):
        check_same_kind([grey, colour], ["onset", "apex"])


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"window": 2}, "window must be between 3"),
        ({"window": 10**6}, "window must be between 3 and 600"),
        ({"window": 7.5}, "window must be an integer"),
        ({"threshold": float("nan")}, "threshold must be a finite number"),
        ({"threshold": 0}, "threshold must be > 0"),
        ({"threshold": 300}, "threshold must be > 0 and ≤ 255"),  # motion never gets there
        ({"color": "BGR"}, "color must be 'rgb' or 'bgr'"),
        ({"release": 1.5}, "release must be > 0 and ≤ 1"),
        ({"release": "x"}, "release must be a number"),
    ],
)
def test_stream_options_are_checked_when_made(tiny_onnx, options, match):
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        with pytest.raises(InputError, match=match):
            rt.stream(**options)


def test_runtime_color_is_checked_when_made(tiny_onnx):
    with pytest.raises(InputError, match="color must be 'rgb' or 'bgr'"):
        Runtime(tiny_onnx, backend="onnxruntime", align=False, color="RGB")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"smoothing": 0}, "smoothing must be between 1"),
        ({"smoothing": 99}, "smoothing must be between 1 and 31"),
        ({"onset_index": -1}, "onset_index must be ≥ 0"),
        ({"onset_index": 1.0}, "onset_index must be an integer"),
    ],
)
def test_clip_options_are_checked(tiny_onnx, frames, options, match):
    colour = frames[0]
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        with pytest.raises(InputError, match=match):
            rt.predict_clip([colour] * 4, **options)


def test_a_truncated_video_is_reported_partial_not_passed_off_as_short(tiny_onnx, tmp_path):
    from mmnet_edge.io import PartialVideoWarning, iter_video

    rng = np.random.default_rng(0)
    path = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (112, 112))
    for _ in range(60):
        w.write(rng.integers(0, 255, (112, 112, 3), dtype=np.uint8))
    w.release()
    whole = {}
    assert len(list(iter_video(path, report=whole))) == 60 and whole["partial"] is False
    cut = tmp_path / "cut.avi"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    report: dict = {}
    with pytest.warns(PartialVideoWarning, match="decoded \\d+ of the 60 frames"):
        n = len(list(iter_video(cut, report=report)))
    assert 2 <= n < 50 and report == {"decoded": n, "declared": 60, "partial": True}
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        with pytest.warns(PartialVideoWarning):
            pred = rt.predict_clip(str(cut))
    assert pred.partial and pred.frames_declared == 60 and pred.frames_analysed == n
    assert pred.to_dict()["partial"] is True
    empty = tmp_path / "empty.avi"
    empty.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError):
        list(iter_video(empty))


def _stream_logits(s, onset, apex):
    """The logits a stream gives the pair: onset, apex (motion), onset again (event ends)."""
    assert s.push(onset) is None and s.push(apex) is None
    pred = s.push(onset)
    assert pred is not None and (pred.onset_index, pred.apex_index) == (0, 1)
    return pred.logits


def test_one_pair_gives_the_same_logits_from_files_arrays_serve_and_streams(tiny_onnx, tmp_path):
    """Colour as BGR, BGRA, RGB; grey as H×W, H×W×1, H×W×3: one conversion
    (preprocess.as_rgb_uint8, after io.read_image for files) on every path, so each form of
    a pair gives the same logits from arrays, files, encoded bytes, serve and a stream."""
    from tests.reliability.serve_in_process import in_process_server

    rng = np.random.default_rng(5)
    on = rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)
    ap = on.copy()
    ap[30:60, 30:60] = rng.integers(0, 255, (30, 30, 3), dtype=np.uint8)
    forms = {
        "colour": [
            (on, ap, "bgr"),
            (cv2.cvtColor(on, cv2.COLOR_BGR2BGRA), cv2.cvtColor(ap, cv2.COLOR_BGR2BGRA), "bgr"),
            (on[:, :, ::-1].copy(), ap[:, :, ::-1].copy(), "rgb"),
        ],
        "grey": [
            (cv2.cvtColor(on, cv2.COLOR_BGR2GRAY), cv2.cvtColor(ap, cv2.COLOR_BGR2GRAY), "bgr"),
        ],
    }
    g_on, g_ap, _ = forms["grey"][0]
    forms["grey"] += [
        (g_on[:, :, None], g_ap[:, :, None], "bgr"),
        (cv2.cvtColor(g_on, cv2.COLOR_GRAY2BGR), cv2.cvtColor(g_ap, cv2.COLOR_GRAY2BGR), "bgr"),
    ]
    server = in_process_server(tiny_onnx, align=False)
    pair_model = server._pair_function()
    try:
        with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
            for kind, variants in forms.items():
                want = rt.predict(*variants[0][:2], color=variants[0][2]).logits
                got = {}
                for i, (o, a, color) in enumerate(variants):
                    paths = [tmp_path / f"{kind}{i}-{w}.png" for w in ("on", "ap")]
                    for path, img in zip(paths, (o, a)):
                        assert cv2.imwrite(str(path), img if color == "bgr" else img[:, :, ::-1])
                    blobs = [p.read_bytes() for p in paths]
                    got[f"{kind} {i} arrays"] = rt.predict(o, a, color=color).logits
                    got[f"{kind} {i} files"] = rt.predict(*map(str, paths)).logits
                    got[f"{kind} {i} bytes"] = rt.predict(*blobs).logits
                    pixels = [as_rgb_uint8(x, color) for x in (o, a)]  # what Client sends
                    (r,) = pair_model([{"onset_pixels": pixels[0], "apex_pixels": pixels[1]}])
                    got[f"{kind} {i} serve pixels"] = r["logits"]
                    images = [np.array([b], dtype=object) for b in blobs]
                    (r,) = pair_model([{"onset_image": images[0], "apex_image": images[1]}])
                    got[f"{kind} {i} serve images"] = r["logits"]
                    stream = rt.stream(window=8, color=color)
                    got[f"{kind} {i} stream"] = _stream_logits(stream, o, a)
                for where, logits in got.items():
                    np.testing.assert_allclose(logits, want, atol=1e-5, err_msg=where)
            # a colour onset with a grey apex is refused alike on every path that pairs them
            grey_ap = forms["grey"][0][1]
            cv2.imwrite(str(tmp_path / "mix-on.png"), on)
            cv2.imwrite(str(tmp_path / "mix-ap.png"), grey_ap)
            match = "apex grey but onset colour"
            with pytest.raises(InputError, match=match):
                rt.predict(on, grey_ap)
            with pytest.raises(InputError, match=match):
                rt.predict(str(tmp_path / "mix-on.png"), str(tmp_path / "mix-ap.png"))
            (r,) = pair_model(
                [{"onset_pixels": as_rgb_uint8(on), "apex_pixels": as_rgb_uint8(grey_ap)}]
            )
            assert r["status"].tolist() == [400] and match.encode() in r["error"][0]
    finally:
        server.stop()
