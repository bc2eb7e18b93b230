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
    excluded,
    find_file,
    norm_header,
    placeholder,
    read_sheet,
    subject_number,
    warn,
)
from mmnet_edge.data.samples import MEDataset, Sample
from mmnet_edge.errors import DatasetError

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
    classes = classes or DEFAULT_CLASSES
    if classes not in CLASS_MAPS:
        raise DatasetError(f"mmew: unknown class map {classes!r}; choose {sorted(CLASS_MAPS)}")
    class_names, class_map = CLASS_MAPS[classes]
    sheet = Path(spreadsheet) if spreadsheet else find_file(root, [SPREADSHEET], depth=1)
    if sheet is None:
        raise DatasetError(f"mmew: {SPREADSHEET} not found in {root}; put it in the root")
    rows = read_sheet(sheet, ["Subject", "Filename"])
    frame_root = root / FRAME_DIR if (root / FRAME_DIR).is_dir() else root
    pairs: list[tuple[Sample, str]] = []
    for row in rows:
        subject, clip = row.get("Subject"), row.get("Filename")
        emotion = row.get("Estimated Emotion", "Emotion")
        if subject is None or clip is None or emotion is None:
            warn(f"{row.where()}: missing subject, filename or emotion; row skipped")
            continue
        if excluded(class_map, emotion):
            pairs.append((placeholder(NAME, subject, clip), str(emotion)))
            continue
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
