"""MMEW reader (``MMEW_Micro_Exp.xlsx`` + ``Micro_Expression/<emotion>/<clip>/<n>.jpg``).

Expected layout::

    ROOT/MMEW_Micro_Exp.xlsx
    ROOT/Micro_Expression/happiness/S01_happiness_1/1.jpg   # folder = Filename column
"""

from __future__ import annotations

from pathlib import Path

from mmnet_edge.data._common import (
    apply_class_map,
    build_map,
    build_sample,
    check_root,
    labelled_rows,
    locate_sheet,
    norm_header,
    read_sheet,
    select_class_map,
    subject_number,
)
from mmnet_edge.data.samples import MEDataset, Sample

NAME = "mmew"
SPREADSHEET = "MMEW_Micro_Exp.xlsx"
FRAME_DIR = "Micro_Expression"

_ALL = ("happiness", "surprise", "disgust", "fear", "sadness", "anger", "others")
CLASS_MAPS: dict[str, tuple[tuple[str, ...], dict[str, str | None]]] = {
    # Six classes used by most MMEW papers (anger is too rare and is dropped).
    "6class": (
        ("happiness", "surprise", "disgust", "fear", "sadness", "others"),
        build_map({**{e: e for e in _ALL}, "other": "others", "anger": None}),
    ),
    "4class": (
        ("happiness", "surprise", "disgust", "others"),
        build_map(
            {
                **{e: e for e in ("happiness", "surprise", "disgust", "others")},
                "other": "others",
                "fear": None,
                "sadness": None,
                "anger": None,
            }
        ),
    ),
    "3class": (
        ("negative", "positive", "surprise"),
        build_map(
            {
                "happiness": "positive",
                "surprise": "surprise",
                "disgust": "negative",
                "fear": "negative",
                "sadness": "negative",
                "anger": "negative",
                "others": None,
                "other": None,
            }
        ),
    ),
}
DEFAULT_CLASSES = "6class"


def _clip_dir(frame_root: Path, emotion: str, clip: str) -> Path:
    direct = frame_root / emotion / clip
    if direct.is_dir():
        return direct
    for d in frame_root.iterdir() if frame_root.is_dir() else ():
        if d.is_dir() and norm_header(d.name) == norm_header(emotion) and (d / clip).is_dir():
            return d / clip
    return direct


def load_mmew(
    root: Path | str, classes: str | None = None, spreadsheet: Path | str | None = None
) -> MEDataset:
    """Read MMEW micro-expressions; ``classes`` is ``'6class'`` (default), ``'4class'`` or
    ``'3class'``."""
    root = check_root(root, NAME)
    class_names, class_map = select_class_map(NAME, classes, DEFAULT_CLASSES, CLASS_MAPS)
    sheet = locate_sheet(root, NAME, SPREADSHEET, spreadsheet)
    rows = read_sheet(sheet, ["Subject", "Filename"])
    frame_root = root / FRAME_DIR if (root / FRAME_DIR).is_dir() else root
    pairs: list[tuple[Sample, str]] = []
    for row, subject, clip, emotion in labelled_rows(
        rows,
        NAME,
        class_map,
        pairs,
        (
            "Estimated Emotion",
            "Emotion",
        ),
    ):
        n = subject_number(subject)
        subject_name = f"S{n:02d}" if n is not None else str(subject).strip()
        clip_id = str(clip).strip()
        sample = build_sample(
            row,
            NAME,
            subject_name,
            clip_id,
            _clip_dir(frame_root, str(emotion).strip(), clip_id),
            row.get("OnsetFrame", "Onset Frame"),
            row.get("ApexFrame", "Apex Frame"),
            row.get("OffsetFrame", "Offset Frame"),
            row.get("Action Units", "AU"),
            emotion,
        )
        pairs.append((sample, str(emotion)))
    return apply_class_map(pairs, class_map, class_names, NAME, classes, root)
