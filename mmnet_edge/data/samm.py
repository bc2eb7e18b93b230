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
    labelled_rows,
    locate_sheet,
    read_sheet,
    select_class_map,
    subject_number,
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
    class_names, class_map = select_class_map(NAME, classes, DEFAULT_CLASSES, CLASS_MAPS)
    sheet = locate_sheet(root, NAME, SPREADSHEET, spreadsheet)
    rows = read_sheet(sheet, ["Subject", "Filename", "Onset Frame"])
    frame_root = _frame_root(root)
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
