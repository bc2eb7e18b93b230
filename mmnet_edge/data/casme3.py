"""CAS(ME)³ part A reader (``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx``, sheet ``label``).

Expected layout (frame folders may sit directly in ROOT, or in ``part_A/`` or
``data/part_A/``)::

    ROOT/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx
    ROOT/part_A/spNo.1/a/color/123.jpg     # or ROOT/spNo.1/a/123.jpg

The spreadsheet names subjects ``spNO.1`` while the folders say ``spNo.1``: matching ignores
case and punctuation.
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
)
from mmnet_edge.data.samples import MEDataset, Sample
from mmnet_edge.errors import DatasetError

NAME = "casme3"
SPREADSHEET = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
SHEET = "label"

_NEG = ("anger", "disgust", "fear", "sad", "sadness")
CLASS_MAPS: dict[str, tuple[tuple[str, ...], dict[str, str | None]]] = {
    "4class": (
        ("negative", "positive", "surprise", "others"),
        build_map(
            {
                **{e: "negative" for e in _NEG},
                "happy": "positive",
                "happiness": "positive",
                "surprise": "surprise",
                "others": "others",
                "other": "others",
            }
        ),
    ),
    "3class": (
        ("negative", "positive", "surprise"),
        build_map(
            {
                **{e: "negative" for e in _NEG},
                "happy": "positive",
                "happiness": "positive",
                "surprise": "surprise",
                "others": None,
                "other": None,
            }
        ),
    ),
    "7class": (
        ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "others"),
        build_map(
            {
                "anger": "anger",
                "disgust": "disgust",
                "fear": "fear",
                "happy": "happiness",
                "happiness": "happiness",
                "sad": "sadness",
                "sadness": "sadness",
                "surprise": "surprise",
                "others": "others",
                "other": "others",
            }
        ),
    ),
}
DEFAULT_CLASSES = "4class"


def _subject_dirs(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base in (root, root / "part_A", root / "Part_A", root / "data" / "part_A"):
        if not base.is_dir():
            continue
        for d in base.iterdir():
            if d.is_dir() and norm_header(d.name).startswith("spno"):
                found.setdefault(norm_header(d.name), d)
    return found


def _clip_dir(subject_dir: Path, clip: str) -> Path:
    d = subject_dir / clip
    return d / "color" if (d / "color").is_dir() else d


def load_casme3(
    root: Path | str, classes: str | None = None, spreadsheet: Path | str | None = None
) -> MEDataset:
    """Read CAS(ME)³ part A micro-expressions; ``classes`` is ``'4class'`` (default),
    ``'3class'`` or ``'7class'``."""
    root = check_root(root, NAME)
    class_names, class_map = select_class_map(NAME, classes, DEFAULT_CLASSES, CLASS_MAPS)
    sheet = locate_sheet(root, NAME, SPREADSHEET, spreadsheet)
    rows = read_sheet(sheet, ["Subject", "Filename", "Onset"], sheet=SHEET)
    subjects = _subject_dirs(root)
    pairs: list[tuple[Sample, str]] = []
    for row, subject, clip, emotion in labelled_rows(
        rows,
        NAME,
        class_map,
        pairs,
        (
            "emotion",
            "Estimated Emotion",
        ),
    ):
        sdir = subjects.get(norm_header(subject))
        if sdir is None:
            raise DatasetError(
                f"{row.where()}: no folder for subject {subject!r} under {root} "
                "(expected e.g. part_A/spNo.1/)"
            )
        clip_id = str(clip).strip()
        sample = build_sample(
            row,
            NAME,
            sdir.name,
            clip_id,
            _clip_dir(sdir, clip_id),
            row.get("Onset"),
            row.get("Apex"),
            row.get("Offset"),
            row.get("AU", "Action Units"),
            emotion,
        )
        pairs.append((sample, str(emotion)))
    return apply_class_map(pairs, class_map, class_names, NAME, classes, root)
