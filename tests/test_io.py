"""mmnet_edge.io: the one image/video reader shared by training, calibration and runtime."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import mmnet_edge.io as mio
from mmnet_edge.data._common import index_frames
from mmnet_edge.data.samples import Sample, read_rgb
from mmnet_edge.errors import DatasetError, InputError

PACKAGE = Path(mio.__file__).resolve().parents[1]


# --- helpers -------------------------------------------------------------------------------


def exif_segment(orientation: int) -> bytes:
    """A JPEG APP1 segment holding a big-endian TIFF IFD0 with one Orientation (0x0112) tag."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)  # tag, SHORT, count 1, value
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + b"\0\0\0\0"
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_orientation(image_bgr: np.ndarray, orientation: int) -> bytes:
    """cv2 cannot write EXIF: encode, then splice an APP1 segment in after SOI/APP0."""
    ok, enc = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    data = enc.tobytes()
    assert data[:2] == b"\xff\xd8"
    pos = 2
    if data[2:4] == b"\xff\xe0":  # keep the JFIF APP0 first
        pos = 4 + struct.unpack(">H", data[4:6])[0]
    return data[:pos] + exif_segment(orientation) + data[pos:]


def quadrant_image() -> np.ndarray:
    """40 wide × 20 high BGR: red top-left block, green top-right, blue bottom-left, grey rest."""
    img = np.full((20, 40, 3), 128, np.uint8)
    img[:10, :20] = (0, 0, 255)
    img[:10, 20:] = (0, 255, 0)
    img[10:, :20] = (255, 0, 0)
    return img


def dominant(pixel: np.ndarray) -> str:
    b, g, r = (int(v) for v in pixel)
    if r > 200 and g < 60 and b < 60:
        return "red"
    if g > 200 and r < 60 and b < 60:
        return "green"
    if b > 200 and r < 60 and g < 60:
        return "blue"
    return "other"


# --- EXIF orientation ----------------------------------------------------------------------

# EXIF orientation → the cv2 operation a viewer applies to display the image upright.
ROTATIONS = {
    3: lambda im: cv2.rotate(im, cv2.ROTATE_180),
    6: lambda im: cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE),
    8: lambda im: cv2.rotate(im, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


@pytest.mark.parametrize("orientation", sorted(ROTATIONS))
def test_exif_rotated_jpeg_decodes_upright(tmp_path: Path, orientation: int) -> None:
    img = quadrant_image()
    plain = tmp_path / "plain.jpg"
    rotated = tmp_path / "rotated.jpg"
    plain.write_bytes(jpeg_with_orientation(img, 1))  # orientation 1 = already upright
    rotated.write_bytes(jpeg_with_orientation(img, orientation))

    upright = mio.read_image(plain)
    assert upright.shape == (20, 40, 3)
    out = mio.read_image(rotated)
    # Same JPEG pixels, so the decoded result is exactly the upright decode, rotated.
    np.testing.assert_array_equal(out, ROTATIONS[orientation](upright))
    # And in words: where did the red (top-left) block go?
    h, w = out.shape[:2]
    corners = {
        "top-left": out[2, 2],
        "top-right": out[2, w - 3],
        "bottom-left": out[h - 3, 2],
        "bottom-right": out[h - 3, w - 3],
    }
    red_at = {3: "bottom-right", 6: "top-right", 8: "bottom-left"}[orientation]
    assert dominant(corners[red_at]) == "red"
    # The training reader applies it too (it used to ignore EXIF).
    np.testing.assert_array_equal(read_rgb(rotated), out[..., ::-1])


# --- 16-bit --------------------------------------------------------------------------------


def test_16bit_png_scales_by_rounding_x_over_257_in_every_reader(tmp_path: Path) -> None:
    # Every 8-bit level widened (v*257) plus values where truncating rules disagree.
    widened = np.arange(256, dtype=np.uint16) * 257
    tricky = np.array([128, 129, 2800, 32767, 65406, 65407, 65535, 1, 0, 385], np.uint16)
    values = np.concatenate([widened, tricky, np.zeros(2, np.uint16)])  # 268 = 4×67
    grey16 = values.reshape(4, 67)
    bgr16 = np.stack([grey16, grey16[::-1], np.flipud(grey16)[:, ::-1]], axis=-1)
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), bgr16)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16  # really 16-bit

    expected = np.floor(bgr16.astype(np.float64) / 257.0 + 0.5).astype(np.uint8)
    runtime = mio.read_image(path)
    np.testing.assert_array_equal(runtime, expected)
    # Widened 8-bit levels come back bit-identical.
    blue = runtime[..., 0].ravel()
    np.testing.assert_array_equal(blue[:256], np.arange(256))
    # By hand: 128/257=0.498→0, 129/257=0.502→1, 2800/257=10.9→11 (>>8 and int(x/257) give 10).
    assert dict(zip(tricky.tolist(), blue[256:266].tolist())) == {
        128: 0,
        129: 1,
        2800: 11,
        32767: 127,
        65406: 254,
        65407: 255,
        65535: 255,
        1: 0,
        0: 0,
        385: 1,
    }
    # Training, calibration and runtime read identically.
    np.testing.assert_array_equal(read_rgb(path), expected[..., ::-1])
    sample = Sample("s1", "c1", path, path, 0, "x")
    onset, _ = sample.load_pair()
    np.testing.assert_array_equal(onset, expected[..., ::-1])


def test_16bit_grey_png(tmp_path: Path) -> None:
    grey16 = np.array([[0, 128, 129, 65535], [257, 2800, 40000, 65407]], np.uint16)
    path = tmp_path / "grey16.png"
    assert cv2.imwrite(str(path), grey16)
    out = mio.read_image(path)
    want = np.floor(grey16 / 257.0 + 0.5).astype(np.uint8)
    assert out.shape == (2, 4, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], want)


def test_float_image_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "float.tiff"
    assert cv2.imwrite(str(path), np.full((4, 4, 3), 0.5, np.float32))
    with pytest.raises(InputError, match=r"float32 pixels are not supported; save"):
        mio.read_image(path)


# --- grey and alpha ------------------------------------------------------------------------


def test_grey_image_becomes_three_equal_channels(tmp_path: Path) -> None:
    grey = np.random.default_rng(0).integers(0, 256, (9, 7), dtype=np.uint8)
    path = tmp_path / "grey.png"
    assert cv2.imwrite(str(path), grey)
    out = mio.read_image(path)
    assert out.shape == (9, 7, 3) and out.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], grey)


def test_bgra_image_keeps_colour_drops_alpha(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    bgra = rng.integers(0, 256, (6, 5, 4), dtype=np.uint8)
    bgra[0, 0, 3] = 0  # fully transparent pixel: colour kept as stored, not composited
    path = tmp_path / "alpha.png"
    assert cv2.imwrite(str(path), bgra)
    out = mio.read_image(path)
    assert out.shape == (6, 5, 3)
    np.testing.assert_array_equal(out, bgra[..., :3])
    np.testing.assert_array_equal(read_rgb(path), bgra[..., 2::-1])


# --- listing and natural sort --------------------------------------------------------------


def test_natural_sort_key_orders_numbers_by_value() -> None:
    names = ["img10", "img2", "img1", "IMG3", "img01", "sub10_a", "sub2_b", "x1²"]
    assert sorted(names, key=mio.natural_sort_key) == [
        "img01",
        "img1",
        "img2",
        "IMG3",
        "img10",
        "sub2_b",
        "sub10_a",
        "x1²",
    ]
    assert mio.natural_sort_key("img2") < mio.natural_sort_key("img10")


def test_list_images_natural_order_skips_non_images(tmp_path: Path) -> None:
    img = np.zeros((2, 2, 3), np.uint8)
    for name in ("img10.png", "img2.PNG", "img1.jpg", "frame3.bmp"):
        assert cv2.imwrite(str(tmp_path / name), img)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "._img4.png").write_bytes(b"\0\5\26\7 AppleDouble")  # macOS metadata
    (tmp_path / "img5.png").mkdir()
    got = [p.name for p in mio.list_images(tmp_path)]
    assert got == ["frame3.bmp", "img1.jpg", "img2.PNG", "img10.png"]


def test_list_images_of_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope"):
        mio.list_images(tmp_path / "nope")


# --- errors --------------------------------------------------------------------------------


def test_missing_image_names_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jpg"
    with pytest.raises(InputError, match=r"missing\.jpg not found"):
        mio.read_image(missing)
    with pytest.raises(DatasetError, match=r"missing\.jpg not found"):
        read_rgb(missing)
    with pytest.raises(InputError, match="is a folder"):
        mio.read_image(tmp_path)


@pytest.mark.parametrize("content", ["garbage", "truncated", "empty"])
def test_corrupt_image_names_path(tmp_path: Path, content: str) -> None:
    ok, enc = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    assert ok
    data = {"garbage": b"this is not an image" * 10, "truncated": enc.tobytes()[:40], "empty": b""}
    path = tmp_path / "bad.png"
    path.write_bytes(data[content])
    with pytest.raises(InputError, match=r"bad\.png"):
        mio.read_image(path)
    with pytest.raises(DatasetError, match=r"bad\.png"):
        read_rgb(path)


# --- one suffix list -----------------------------------------------------------------------


def test_suffix_lists_are_the_same_objects_everywhere() -> None:
    assert not set(mio.IMAGE_SUFFIXES) & set(mio.VIDEO_SUFFIXES)
    assert all(s == s.lower() and s.startswith(".") for s in mio.IMAGE_SUFFIXES)
    # Nobody re-types a suffix list or decodes files past mmnet_edge.io.
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "io" and path.parent.parent == PACKAGE:
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("IMAGE_SUFFIXES =", "VIDEO_SUFFIXES =", "cv2.imread(", "cv2.VideoCapture("):
            if needle in text:
                offenders.append(f"{path.relative_to(PACKAGE)}: {needle}")
    assert offenders == []


@pytest.mark.parametrize("suffix", mio.IMAGE_SUFFIXES)
def test_dataset_frame_index_accepts_every_image_suffix(tmp_path: Path, suffix: str) -> None:
    (tmp_path / f"img7{suffix}").write_bytes(b"x")
    (tmp_path / "._img8.jpg").write_bytes(b"x")  # hidden metadata files are not frames
    (tmp_path / "img9.txt").write_bytes(b"x")
    assert index_frames(tmp_path) == {7: tmp_path / f"img7{suffix}"}


# --- video ---------------------------------------------------------------------------------


def test_video_roundtrip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    assert writer.isOpened()
    for level in (20, 120, 220):
        writer.write(np.full((24, 32, 3), level, np.uint8))
    writer.release()
    frames = mio.read_video(path)
    assert [f.shape for f in frames] == [(24, 32, 3)] * 3
    assert [round(float(f.mean()) / 10) for f in frames] == [2, 12, 22]
    assert mio.count_frames(path) == 3
    assert len(list(mio.iter_video(path, max_frames=2))) == 2
    with pytest.raises(InputError, match="video not found"):
        mio.read_video(tmp_path / "none.mp4")
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    with pytest.raises(InputError, match=r"bad\.mp4"):
        mio.read_video(tmp_path / "bad.mp4")


# --- layering ------------------------------------------------------------------------------


def test_io_is_bottom_layer_without_torch() -> None:
    code = (
        "import sys, json; import mmnet_edge.io; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('mmnet_edge', 'torch'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(out.stdout))
    allowed = {
        "mmnet_edge",
        "mmnet_edge._version",
        "mmnet_edge._lazy",
        "mmnet_edge.errors",
        "mmnet_edge.io",
        "mmnet_edge.io.images",
        "mmnet_edge.io.video",
    }
    assert loaded <= allowed, loaded - allowed
