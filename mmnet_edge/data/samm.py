"""SAMM reader (``SAMM_Micro_FACS_Codes_v2.xlsx`` + grayscale frame folders).

Expected layout::

    ROOT/SAMM_Micro_FACS_Codes_v2.xlsx     # a notes block precedes the header row
    ROOT/006/006_1_2/006_05562.jpg         # or ROOT/SAMM/006/...

Frames are grayscale; they are replicated to three channels when loaded.
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
    placeholder,
    read_sheet,
    subject_number,
    warn,
)
from mmnet_edge.data.samples import MEDataset, Sample
from mmnet_edge.errors import DatasetError

NAME = "samm"
SPREADSHEET = "SAMM_Micro_FACS_Codes_v2.xlsx"

_NEG = ("anger", "contempt", "disgust", "fear", "sadness")
CLASS_MAPS: dict[str, tuple[tuple[str, ...], dict[str, str | None]]] = {
    # MMNet / common 5-class SAMM protocol (136 samples).
    "5class": (
        ("anger", "contempt", "happiness", "surprise", "others"),
        build_map(
            {
                "anger": "anger",
                "contempt": "contempt",
                "happiness": "happiness",
                "surprise": "surprise",
                "other": "others",
                "others": "others",
                "disgust": None,
                "fear": None,
                "sadness": None,
            }
        ),
    ),
    "3class": (
        ("negative", "positive", "surprise"),
        build_map(
            {
                **{e: "negative" for e in _NEG},
                "happiness": "positive",
                "surprise": "surprise",
                "other": None,
                "others": None,
            }
        ),
    ),
}
DEFAULT_CLASSES = "5class"


def _frame_root(root: Path) -> Path:
    for cand in (root / "SAMM", root / "samm"):
        if cand.is_dir():
            return cand
    return root


def load_samm(
    root: Path | str, classes: str | None = None, spreadsheet: Path | str | None = None
) -> MEDataset:
    """Read SAMM; ``classes`` is ``'5class'`` (default) or ``'3class'`` (MEGC)."""
    root = check_root(root, NAME)
    classes = classes or DEFAULT_CLASSES
    if classes not in CLASS_MAPS:
        raise DatasetError(f"samm: unknown class map {classes!r}; choose {sorted(CLASS_MAPS)}")
    class_names, class_map = CLASS_MAPS[classes]
    sheet = Path(spreadsheet) if spreadsheet else find_file(root, [SPREADSHEET], depth=1)
    if sheet is None:
        raise DatasetError(f"samm: {SPREADSHEET} not found in {root}; put it in the root")
    rows = read_sheet(sheet, ["Subject", "Filename", "Onset Frame"])
    frame_root = _frame_root(root)
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
        if n is None:
            raise DatasetError(f"{row.where()}: subject {subject!r} is not a subject number")
        subject_name = f"{n:03d}"
        clip_id = str(clip).strip()
        sample = build_sample(
            row,
            NAME,
            subject_name,
            clip_id,
            frame_root / subject_name / clip_id,
            row.get("Onset Frame"),
            row.get("Apex Frame"),
            row.get("Offset Frame"),
            row.get("Action Units", "AU"),
            emotion,
        )
        pairs.append((sample, str(emotion)))
    return apply_class_map(pairs, class_map, class_names, NAME, classes, root)
