"""Dataset readers on generated fixture trees in the official layouts, quirks included."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest

from mmnet_edge.data import DatasetWarning, class_maps, load_dataset
from mmnet_edge.errors import DatasetError
from mmnet_edge.io import read_image

# Fixture trees: tiny random frames + openpyxl spreadsheets in the official layouts.


def write_frames(
    clip_dir: Path, numbers: Iterable[int], pattern: str, gray: bool = False, size: int = 24
) -> None:
    clip_dir.mkdir(parents=True, exist_ok=True)
    # seeded by the clip's subject/clip names (stable across runs; str hash() is salted)
    rng = np.random.default_rng(zlib.crc32("/".join(clip_dir.parts[-2:]).encode()))
    for n in numbers:
        shape = (size, size) if gray else (size, size, 3)
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        assert cv2.imwrite(str(clip_dir / pattern.format(n=n)), img)


def write_xlsx(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    notes: Sequence[Sequence[object]] = (),
    sheet: str = "Sheet1",
) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for n in notes:
        ws.append(list(n))
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


CASME2_HEADER = [
    "Subject",
    "Filename",
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    "Action Units",
    "Estimated Emotion",
]


def make_casme2(root: Path, cropped: bool = False) -> Path:
    """3 subjects; quirks: apex '/', blank apex, subject as '1'/'01'/'sub03', AU '1+2+L10'."""
    rows = [
        ["01", "EP02_01f", 46, 59, 86, "1+2+L10", "happiness"],
        ["1", "EP03_02", 10, "/", 20, "4", "disgust"],  # apex '/' -> midpoint 15
        ["01", "EP04_01", 5, 8, 12, "14", "repression"],
        ["02", "EP01_01", 30, 33, 40, "12", "happiness"],
        ["02", "EP05_02", 1, None, 9, "AU1 + AU2", "surprise"],  # blank apex -> 5
        ["02", "EP06_01", 3, 6, 9, "7", "others"],
        ["sub03", "EP07_01", 20, 22, 25, "4+7", "disgust"],
        ["sub03", "EP08_01", 2, 4, 6, "9", "fear"],  # excluded in 5-class, negative in 3
        ["03", "EP09_01", 2, 4, 6, "17", "others"],
    ]
    write_xlsx(root / "CASME2-coding-20190701.xlsx", CASME2_HEADER, rows)
    frame_dir = root / ("Cropped" if cropped else "CASME2_RAW_selected")
    pattern = "reg_img{n}.jpg" if cropped else "img{n}.jpg"
    for subj, clip, on, _ap, off, *_ in rows:
        sub = f"sub{int(str(subj).removeprefix('sub')):02d}"
        write_frames(frame_dir / sub / clip, range(on, off + 1), pattern)
    return root


@pytest.mark.parametrize("cropped", [False, True])
def test_casme2_layouts_quirks_and_counts(tmp_path: Path, cropped: bool) -> None:
    root = make_casme2(tmp_path, cropped)
    with pytest.warns(DatasetWarning, match="midpoint"):
        ds = load_dataset("casme2", root)
    assert ds.class_names == ("happiness", "disgust", "repression", "surprise", "others")
    assert ds.class_counts() == {
        "happiness": 2,
        "disgust": 2,
        "repression": 1,
        "surprise": 1,
        "others": 2,
    }
    assert ds.subjects == ["sub01", "sub02", "sub03"]  # '1', '01' and 'sub03' all resolve
    by_clip = {s.clip_id: s for s in ds}
    mid = by_clip["EP03_02"]
    assert mid.apex_frame == 15 and mid.apex_path.name.endswith("img15.jpg")
    assert by_clip["EP05_02"].apex_frame == 5
    assert by_clip["EP02_01f"].aus == "1+2+L10"
    assert by_clip["EP05_02"].aus == "1+2"
    first = by_clip["EP02_01f"]
    assert first.onset_path.name == ("reg_img46.jpg" if cropped else "img46.jpg")
    assert len(first.frame_paths) == 59 - 46 + 1  # intermediate frames → temporal jitter
    onset, apex = first.load_pair()
    assert onset.shape == (24, 24, 3) and onset.dtype.name == "uint8"


def test_frames_decode_with_the_runtime_reader(tmp_path: Path) -> None:
    root = make_casme2(tmp_path)
    clip = root / "CASME2_RAW_selected" / "sub01" / "EP02_01f"
    (clip / "img46.jpg").unlink()
    deep = np.random.default_rng(7).integers(0, 65536, (24, 24, 3), dtype=np.uint16)
    assert cv2.imwrite(str(clip / "img46.png"), deep)  # 16-bit PNG onset
    (clip / "._img59.jpg").write_bytes(b"\0\5\26\7 macOS AppleDouble, not a frame")
    with pytest.warns(DatasetWarning):
        ds = load_dataset("casme2", root)
    sample = next(s for s in ds if s.clip_id == "EP02_01f")
    assert sample.onset_path.name == "img46.png" and sample.apex_path.name == "img59.jpg"
    onset, apex = sample.load_pair()
    want = np.floor(deep / 257.0 + 0.5).astype(np.uint8)[..., ::-1]  # round(x/257), RGB
    np.testing.assert_array_equal(onset, want)
    np.testing.assert_array_equal(apex, read_image(sample.apex_path)[..., ::-1])


def test_corrupt_frame_names_its_path(tmp_path: Path) -> None:
    root = make_casme2(tmp_path)
    bad = root / "CASME2_RAW_selected" / "sub02" / "EP01_01" / "img30.jpg"
    bad.write_bytes(b"truncated")
    with pytest.warns(DatasetWarning):
        ds = load_dataset("casme2", root)
    sample = next(s for s in ds if s.clip_id == "EP01_01")
    with pytest.raises(DatasetError, match=r"EP01_01/img30\.jpg"):
        sample.load_pair()


def test_casme2_three_class_map(tmp_path: Path) -> None:
    ds = load_dataset("casme2", make_casme2(tmp_path), classes="3class")
    assert ds.class_names == ("negative", "positive", "surprise")
    # disgust×2 + repression + fear = 4 negative; others dropped
    assert ds.class_counts() == {"negative": 4, "positive": 2, "surprise": 1}


def test_missing_frame_names_row_and_path(tmp_path: Path) -> None:
    root = make_casme2(tmp_path)
    (root / "CASME2_RAW_selected" / "sub02" / "EP01_01" / "img33.jpg").unlink()
    with pytest.raises(DatasetError, match=r"row 5: frame 33 not found in .*EP01_01"):
        load_dataset("casme2", root)


def test_unreadable_spreadsheet_names_path(tmp_path: Path) -> None:
    root = make_casme2(tmp_path)
    (root / "CASME2-coding-20190701.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(DatasetError, match="CASME2-coding-20190701.xlsx"):
        load_dataset("casme2", root)


def test_samm_notes_block_grayscale_and_class_maps(tmp_path: Path) -> None:
    header = [
        "Subject",
        "Filename",
        "Inducement Code",
        "Onset Frame",
        "Apex Frame",
        "Offset Frame",
        "Duration",
        "Type",
        "Action Units",
        "Notes",
        "Estimated Emotion",
        "Objective Classes",
    ]
    notes = [["SAMM micro-movement FACS codes"], [], ["Notes: frames are 1-indexed"]] + [
        [f"note line {i}"] for i in range(10)
    ]
    rows = [
        [6, "006_1_2", 1, 5562, 5588, 5600, 39, "Micro - 1/2", "R14", "", "Contempt", 3],
        ["006", "006_1_3", 1, 100, 104, 110, 11, "Micro - 1/2", "4+7", "", "Anger", 1],
        [7, "007_3_1", 3, 50, "/", 60, 11, "Micro - 1/2", "12", "", "Happiness", 2],
        [7, "007_3_2", 3, 70, 72, 75, 6, "Micro - 1/2", "1+2", "", "Surprise", 6],
        [7, "007_5_1", 5, 80, 82, 84, 5, "Micro - 1/2", "10", "", "Disgust", 7],
        [7, "007_6_1", 6, 90, 92, 94, 5, "Micro - 1/2", "43", "", "Other", 7],
    ]
    write_xlsx(tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx", header, rows, notes=notes)
    for subj, clip, _c, on, _a, off, *_ in rows:
        write_frames(
            tmp_path / f"{int(subj):03d}" / clip,
            range(on, off + 1),
            f"{int(subj):03d}_{{n:05d}}.jpg",
            gray=True,
        )  # noqa: E501
    with pytest.warns(DatasetWarning, match="midpoint"):
        ds = load_dataset("samm", tmp_path)
    assert ds.class_counts() == {
        "anger": 1,
        "contempt": 1,
        "happiness": 1,
        "surprise": 1,
        "others": 1,
    }
    assert ds.subjects == ["006", "007"]
    s = next(x for x in ds if x.clip_id == "006_1_2")
    assert s.onset_path.name == "006_05562.jpg"
    onset, apex = s.load_pair()
    assert onset.shape == (24, 24, 3)  # grayscale replicated to 3 channels
    assert (onset[..., 0] == onset[..., 2]).all()
    ds3 = load_dataset("samm", tmp_path, classes="3class")
    assert ds3.class_counts() == {"negative": 3, "positive": 1, "surprise": 1}


def test_mmew_layout(tmp_path: Path) -> None:
    header = [
        "Subject",
        "Filename",
        "OnsetFrame",
        "ApexFrame",
        "OffsetFrame",
        "Action Units",
        "Estimated Emotion",
        "remarks",
    ]
    rows = [
        ["S01", "S01_happiness_1", 1, 5, 9, "6+12", "happiness", ""],
        ["S01", "S01_surprise_1", 1, 4, 7, "1+2", "surprise", ""],
        ["S02", "S02_disgust_1", 2, 6, 8, "9", "disgust", ""],
        ["S02", "S02_others_1", 1, 3, 5, "R2", "others", ""],
        ["S02", "S02_fear_1", 1, 3, 5, "4", "fear", ""],
        ["S02", "S02_anger_1", 1, 3, 5, "4", "anger", ""],
    ]
    write_xlsx(tmp_path / "MMEW_Micro_Exp.xlsx", header, rows)
    for _s, clip, on, _a, off, _au, emo, _r in rows:
        write_frames(tmp_path / "Micro_Expression" / emo / clip, range(on, off + 1), "{n}.jpg")
    ds = load_dataset("mmew", tmp_path)
    assert ds.class_counts() == {
        "happiness": 1,
        "surprise": 1,
        "disgust": 1,
        "fear": 1,
        "sadness": 0,
        "others": 1,
    }
    assert ds.subjects == ["S01", "S02"]
    assert load_dataset("mmew", tmp_path, classes="4class").class_counts() == {
        "happiness": 1,
        "surprise": 1,
        "disgust": 1,
        "others": 1,
    }


def test_casme3_spNO_vs_spNo(tmp_path: Path) -> None:
    header = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
    rows = [
        ["spNO.1", "a", 10, 14, 18, "L12", 1, "happy"],
        ["spNO.1", "b", 30, 33, 36, "4+7", 2, "disgust"],
        ["spNO.2", "a", 5, "/", 11, "1+2", 3, "surprise"],
        ["spNO.2", "c", 40, 42, 44, "17", 4, "others"],
    ]
    write_xlsx(tmp_path / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", header, rows, sheet="label")
    for subj, clip, on, _a, off, *_ in rows:
        folder = tmp_path / "part_A" / subj.replace("spNO", "spNo") / clip / "color"
        write_frames(folder, range(on, off + 1), "{n}.jpg")
    with pytest.warns(DatasetWarning, match="midpoint"):
        ds = load_dataset("casme3", tmp_path)
    assert ds.class_counts() == {"negative": 1, "positive": 1, "surprise": 1, "others": 1}
    assert ds.subjects == ["spNo.1", "spNo.2"]
    assert next(s for s in ds if s.emotion == "surprise").apex_frame == 8


def test_bad_inputs_raise_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'casme9'"):
        load_dataset("casme9", tmp_path)
    with pytest.raises(DatasetError, match="root not found"):
        load_dataset("casme2", tmp_path / "nope")
    with pytest.raises(DatasetError, match="not found"):
        load_dataset("samm", tmp_path)  # root exists but holds no spreadsheet
    with pytest.raises(DatasetError, match="unknown class map"):
        load_dataset("casme2", make_casme2(tmp_path), classes="9class")


def test_class_map_without_samples(tmp_path: Path) -> None:
    write_xlsx(
        tmp_path / "CASME2-coding-20190701.xlsx",
        CASME2_HEADER,
        [["01", "EP01_01", 1, 2, 3, "7", "others"]],
    )
    write_frames(tmp_path / "CASME2_RAW_selected" / "sub01" / "EP01_01", range(1, 4), "img{n}.jpg")
    with pytest.raises(DatasetError, match="class map '3class'.*matched no samples"):
        load_dataset("casme2", tmp_path, classes="3class")


def test_class_maps_listing() -> None:
    assert class_maps("casme2")["3class"] == ("negative", "positive", "surprise")
    assert "5class" in class_maps("samm") and "6class" in class_maps("mmew")
