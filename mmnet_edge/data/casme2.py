"""CASME II reader (``CASME2-coding-20190701.xlsx`` + raw or cropped frame folders).

Expected layout (either frame folder, or both)::

    ROOT/CASME2-coding-20190701.xlsx
    ROOT/CASME2_RAW_selected/sub01/EP02_01f/img46.jpg      # raw release
    ROOT/Cropped/sub01/EP02_01f/reg_img46.jpg              # cropped release

``ROOT`` may also be the frame folder itself (holding ``sub01/``...), with the spreadsheet
in it or in its parent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from mmnet_edge.data._common import (
    apply_class_map,
    build_map,
    build_sample,
    check_root,
    labelled_rows,
    locate_sheet,
    read_sheet,
    select_class_map,
    subject_number,
)
from mmnet_edge.data.samples import MEDataset, Sample
from mmnet_edge.errors import DatasetError

NAME = "casme2"
SPREADSHEET = "CASME2-coding-20190701.xlsx"
RAW_DIR = "CASME2_RAW_selected"
CROPPED_DIR = "Cropped"

CLASS_MAPS: dict[str, tuple[tuple[str, ...], dict[str, str | None]]] = {
    "5class": (
        ("happiness", "disgust", "repression", "surprise", "others"),
        build_map(
            {
                "happiness": "happiness",
                "disgust": "disgust",
                "repression": "repression",
                "surprise": "surprise",
                "others": "others",
                "fear": None,
                "sadness": None,
            }
        ),
    ),
    # MEGC2019 composite: negative / positive / surprise; "others" is excluded.
    "3class": (
        ("negative", "positive", "surprise"),
        build_map(
            {
                "happiness": "positive",
                "disgust": "negative",
                "repression": "negative",
                "fear": "negative",
                "sadness": "negative",
                "surprise": "surprise",
                "others": None,
            }
        ),
    ),
}
DEFAULT_CLASSES = "5class"

Layout = Literal["auto", "raw", "cropped"]


def _frame_root(root: Path, layout: Layout) -> Path:
    raw, cropped = root / RAW_DIR, root / CROPPED_DIR
    if layout == "raw":
        if not raw.is_dir():
            raise DatasetError(f"casme2: layout 'raw' but {raw} does not exist")
        return raw
    if layout == "cropped":
        if not cropped.is_dir():
            raise DatasetError(f"casme2: layout 'cropped' but {cropped} does not exist")
        return cropped
    if cropped.is_dir():
        return cropped
    if raw.is_dir():
        return raw
    return root


def _subject_dir(frame_root: Path, subject: object, cache: dict[int, Path]) -> Path | None:
    if not cache:
        for d in frame_root.iterdir():
            n = subject_number(d.name) if d.is_dir() and d.name.lower().startswith("sub") else None
            if n is not None:
                cache[n] = d
    n = subject_number(subject)
    return cache.get(n) if n is not None else None


def load_casme2(
    root: Path | str,
    classes: str | None = None,
    layout: Layout = "auto",
    spreadsheet: Path | str | None = None,
) -> MEDataset:
    """Read CASME II; ``classes`` is ``'5class'`` (default) or ``'3class'`` (MEGC)."""
    root = check_root(root, NAME)
    class_names, class_map = select_class_map(NAME, classes, DEFAULT_CLASSES, CLASS_MAPS)
    sheet = locate_sheet(root, NAME, SPREADSHEET, spreadsheet)
    rows = read_sheet(sheet, ["Subject", "Filename"])
    frame_root = _frame_root(root, layout)
    subjects: dict[int, Path] = {}
    pairs: list[tuple[Sample, str]] = []
    for row, subject, clip, emotion in labelled_rows(
        rows, NAME, class_map, pairs, ("Estimated Emotion", "Emotion")
    ):
        sdir = _subject_dir(frame_root, subject, subjects)
        if sdir is None:
            raise DatasetError(
                f"{row.where()}: no folder for subject {subject!r} under {frame_root} "
                "(expected e.g. sub01/)"
            )
        clip_id = str(clip).strip()
        sample = build_sample(
            row,
            NAME,
            sdir.name,
            clip_id,
            sdir / clip_id,
            row.get("OnsetFrame", "Onset"),
            row.get("ApexFrame", "Apex"),
            row.get("OffsetFrame", "Offset"),
            row.get("Action Units", "AU", "AUs"),
            emotion,
        )
        pairs.append((sample, str(emotion)))
    return apply_class_map(pairs, class_map, class_names, NAME, classes, root)
