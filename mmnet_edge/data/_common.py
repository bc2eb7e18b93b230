"""Helpers shared by the dataset readers: spreadsheets, frame indexing, annotation quirks."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmnet_edge.data.samples import MEDataset, Sample
from mmnet_edge.errors import DatasetError
from mmnet_edge.io import is_image_path, natural_sort_key


class DatasetWarning(UserWarning):
    """An annotation quirk was handled (e.g. missing apex → midpoint)."""


def warn(message: str) -> None:
    warnings.warn(message, DatasetWarning, stacklevel=3)


def norm_header(value: Any) -> str:
    """``'Onset Frame'`` / ``'OnsetFrame'`` / ``'onset_frame'`` → ``'onsetframe'``."""
    return re.sub(r"[^a-z0-9]", "", str(value or "").lower())


@dataclass
class SheetRow:
    """One annotation row: its 1-based spreadsheet row number and normalised cells."""

    number: int
    cells: dict[str, Any]
    sheet: Path

    def get(self, *names: str) -> Any:
        """First non-empty cell among the (normalised) column ``names``."""
        for name in names:
            value = self.cells.get(norm_header(name))
            if value is not None and str(value).strip() != "":
                return value
        return None

    def where(self) -> str:
        return f"{self.sheet.name} row {self.number}"


def read_sheet(
    path: Path,
    required: Sequence[str],
    sheet: str | None = None,
    max_header_scan: int = 40,
) -> list[SheetRow]:
    """Read an .xlsx annotation sheet whose header row contains every ``required`` column.

    Rows above the header (SAMM's notes block) are skipped; fully empty rows are dropped.
    Raises :class:`DatasetError` naming the file when it cannot be read or has no header.
    """
    if not path.is_file():
        raise DatasetError(f"annotation spreadsheet not found: {path}")
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises zipfile/KeyError/InvalidFile…
        raise DatasetError(
            f"cannot read annotation spreadsheet {path}: {exc}. Re-download the official "
            ".xlsx (it must be an Excel 2007+ workbook)"
        ) from exc
    try:
        if sheet is not None:
            names = {n.lower(): n for n in wb.sheetnames}
            if sheet.lower() not in names:
                warn(f"{path.name}: no sheet {sheet!r}; using the first sheet {wb.sheetnames[0]!r}")
                ws = wb[wb.sheetnames[0]]
            else:
                ws = wb[names[sheet.lower()]]
        else:
            ws = wb[wb.sheetnames[0]]
        rows = list(ws.iter_rows(values_only=True))
    finally:
        wb.close()
    want = [norm_header(r) for r in required]
    header_idx = None
    for i, row in enumerate(rows[:max_header_scan]):
        heads = {norm_header(c) for c in row}
        if all(w in heads for w in want):
            header_idx = i
            break
    if header_idx is None:
        raise DatasetError(
            f"{path}: no header row with columns {list(required)} in the first "
            f"{max_header_scan} rows; is this the official annotation file?"
        )
    header = [norm_header(c) for c in rows[header_idx]]
    out: list[SheetRow] = []
    for j, row in enumerate(rows[header_idx + 1 :], start=header_idx + 2):
        if row is None or all(c is None or str(c).strip() == "" for c in row):
            continue
        cells: dict[str, Any] = {}
        for h, c in zip(header, row):
            if h and h not in cells:
                cells[h] = c
        out.append(SheetRow(j, cells, path))
    return out


def parse_int(value: Any) -> int | None:
    """Frame numbers: ints, floats like ``46.0``, strings like ``'46'``; ``/``/blank → None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text in ("", "/", "-", "—", "n/a", "na", "none"):
        return None
    m = re.fullmatch(r"(\d+)(?:\.0*)?", text)
    return int(m.group(1)) if m else None


def resolve_frames(
    row: SheetRow, onset: Any, apex: Any, offset: Any
) -> tuple[int, int, int | None]:
    """Onset/apex/offset frame numbers; a missing apex falls back to the midpoint (warning)."""
    on = parse_int(onset)
    if on is None:
        raise DatasetError(f"{row.where()}: onset frame {onset!r} is not a frame number")
    off = parse_int(offset)
    ap = parse_int(apex)
    if ap is None:
        if off is None:
            warn(f"{row.where()}: apex {apex!r} and offset missing; using the onset as apex")
            ap = on
        else:
            ap = (on + off) // 2
            given = "blank" if apex is None or str(apex).strip() == "" else f"as {apex!r}"
            warn(f"{row.where()}: apex given {given}; using the midpoint frame {ap}")
    if ap < on:
        warn(f"{row.where()}: apex {ap} precedes onset {on}; swapping them")
        on, ap = ap, on
    return on, ap, off


def normalise_aus(value: Any) -> str | None:
    """AU strings like ``'1+2+L10'``, ``'AU4 + AU7'``, ``12`` → ``'1+2+L10'`` / ``'4+7'``."""
    if value is None:
        return None
    text = str(value).strip()
    if text in ("", "/", "-"):
        return None
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    parts = [p.strip() for p in re.split(r"[+,;/\s]+", text) if p.strip()]
    parts = [re.sub(r"(?i)^au", "", p) for p in parts]
    return "+".join(p for p in parts if p) or None


def subject_number(value: Any) -> int | None:
    """``'sub01'`` / ``'01'`` / ``1`` / ``'spNO.1'`` / ``'S01'`` → 1."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    m = re.search(r"(\d+)\s*$", str(value).strip())
    return int(m.group(1)) if m else None


def index_frames(clip_dir: Path) -> dict[int, Path]:
    """Map frame number → image file in ``clip_dir`` (number = the stem's trailing digits)."""
    frames: dict[int, Path] = {}
    if not clip_dir.is_dir():
        return frames
    for p in sorted(clip_dir.iterdir(), key=natural_sort_key):  # fixed winner on duplicates
        if not is_image_path(p):
            continue
        m = re.search(r"(\d+)$", p.stem)
        if m:
            frames.setdefault(int(m.group(1)), p)
    return frames


def frame_path(frames: Mapping[int, Path], number: int, clip_dir: Path, row: SheetRow) -> Path:
    """The file of frame ``number``; :class:`DatasetError` naming clip and row if absent."""
    if number in frames:
        return frames[number]
    hint = (
        f" (clip has frames {min(frames)}..{max(frames)})"
        if frames
        else " (directory missing or empty)"
    )
    raise DatasetError(f"{row.where()}: frame {number} not found in {clip_dir}{hint}")


def clip_frames(frames: Mapping[int, Path], onset: int, apex: int) -> tuple[Path, ...]:
    """Frames onset..apex when all present (enables temporal jitter), else ``()``."""
    seq = [frames.get(i) for i in range(onset, apex + 1)]
    return tuple(seq) if all(seq) else ()  # type: ignore[arg-type]


def apply_class_map(
    samples: Iterable[tuple[Sample, str]],
    class_map: Mapping[str, str | None],
    class_names: Sequence[str],
    dataset: str,
    map_name: str,
    root: Path,
) -> MEDataset:
    """Map raw emotion names to classes; drop unmapped (``None``) ones; error if empty."""
    index = {c: i for i, c in enumerate(class_names)}
    kept: list[Sample] = []
    unknown: dict[str, int] = {}
    for sample, emotion in samples:
        check_inside(root, sample, dataset)
        key = norm_header(emotion)
        if key not in class_map:
            unknown[str(emotion)] = unknown.get(str(emotion), 0) + 1
            continue
        target = class_map[key]
        if target is None:
            continue
        kept.append(sample.with_label(index[target], target))
    if unknown:
        warn(f"{dataset}: skipped samples with unmapped emotion labels {unknown}")
    if not kept:
        raise DatasetError(
            f"{dataset} at {root}: class map {map_name!r} ({', '.join(class_names)}) matched no "
            "samples; check the emotion column of the annotation file or choose another --classes"
        )
    return MEDataset(kept, class_names, dataset, root, map_name)


def check_inside(root: Path, sample: Sample, dataset: str) -> None:
    """Every frame path of ``sample`` (built from annotation values) must lie inside
    ``root``: a subject or clip name like ``../../etc`` or ``/abs`` is refused, not read.

    The test is on the normalised path, so symlinked folders inside the root still work.
    """
    base = os.path.normpath(os.path.abspath(root))
    paths = [sample.onset_path, sample.apex_path, sample.offset_path, *sample.frame_paths]
    for p in paths:
        if p is None:
            continue
        full = os.path.normpath(os.path.abspath(p))
        if os.path.commonpath([base, full]) != base:
            raise DatasetError(
                f"{dataset}: annotation of {sample.subject}/{sample.clip_id} points outside the "
                f"dataset root {root} ({p}); fix the subject/clip names in the annotation file"
            )


def find_file(root: Path, names: Sequence[str], depth: int = 2) -> Path | None:
    """First file under ``root`` (to ``depth`` levels) whose name matches one of ``names``
    case-insensitively."""
    wanted = {n.lower() for n in names}
    level = [root]
    for _ in range(depth + 1):
        nxt: list[Path] = []
        for d in level:
            try:
                entries = sorted(d.iterdir())
            except OSError:
                continue
            for p in entries:
                if p.is_file() and p.name.lower() in wanted:
                    return p
                if p.is_dir() and not p.name.startswith("."):
                    nxt.append(p)
        level = nxt[:200]
    return None


def check_root(root: Path | str | None, dataset: str) -> Path:
    if root is None:
        raise DatasetError(f"{dataset}: give the dataset root directory (--root DIR)")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{dataset} root not found: {root} (pass the extracted folder)")
    return root


def build_map(mapping: Mapping[str, str | None]) -> dict[str, str | None]:
    return {norm_header(k): v for k, v in mapping.items()}


def build_sample(
    row: SheetRow,
    dataset: str,
    subject: str,
    clip_id: str,
    clip_dir: Path,
    onset: Any,
    apex: Any,
    offset: Any,
    aus: Any,
    emotion: Any,
) -> Sample:
    """A :class:`Sample` (label filled in later by :func:`apply_class_map`) from one row."""
    on, ap, off = resolve_frames(row, onset, apex, offset)
    frames = index_frames(clip_dir)
    return Sample(
        subject=subject,
        clip_id=clip_id,
        onset_path=frame_path(frames, on, clip_dir, row),
        apex_path=frame_path(frames, ap, clip_dir, row),
        label=0,
        label_name="",
        dataset=dataset,
        offset_path=frames.get(off) if off is not None else None,
        aus=normalise_aus(aus),
        onset_frame=on,
        apex_frame=ap,
        offset_frame=off,
        emotion=str(emotion).strip(),
        frame_paths=clip_frames(frames, on, ap),
    )


def excluded(class_map: Mapping[str, str | None], emotion: Any) -> bool:
    """True when the class map explicitly drops this emotion (its frames aren't needed)."""
    key = norm_header(emotion)
    return key in class_map and class_map[key] is None


def placeholder(dataset: str, subject: Any, clip: Any) -> Sample:
    """Stand-in for a row the class map drops (so its frames are never required)."""
    return Sample(str(subject), str(clip), None, None, 0, "", dataset)


def select_class_map(
    dataset: str,
    classes: str | None,
    default: str,
    maps: Mapping[str, tuple[tuple[str, ...], Mapping[str, str | None]]],
) -> tuple[tuple[str, ...], Mapping[str, str | None]]:
    """``(class_names, emotion → class)`` of a reader's named class map; DatasetError if unknown."""
    classes = classes or default
    if classes not in maps:
        raise DatasetError(f"{dataset}: unknown class map {classes!r}; choose {sorted(maps)}")
    return maps[classes]


def locate_sheet(root: Path, dataset: str, filename: str, given: Path | str | None) -> Path:
    """The annotation spreadsheet: ``given``, else ``filename`` in (or just under) ``root``."""
    sheet = Path(given) if given else find_file(root, [filename], depth=1)
    if sheet is None and (root.parent / filename).is_file():
        sheet = root.parent / filename
    if sheet is None:
        raise DatasetError(f"{dataset}: {filename} not found in {root}; put it in the root")
    return sheet


def labelled_rows(
    rows: Sequence[SheetRow],
    dataset: str,
    class_map: Mapping[str, str | None],
    pairs: list[tuple[Sample, str]],
    emotion_headers: Sequence[str],
):  # noqa: ANN201 - generator of (row, subject, clip, emotion)
    """Rows that carry a subject, clip and emotion the class map keeps.

    Rows missing a field are skipped with a warning; rows whose emotion the class map drops
    get a placeholder in ``pairs`` (their frames are not required) and are not yielded.
    """
    for row in rows:
        subject, clip = row.get("Subject"), row.get("Filename")
        emotion = row.get(*emotion_headers)
        if subject is None or clip is None or emotion is None:
            warn(f"{row.where()}: missing subject, filename or emotion; row skipped")
            continue
        if excluded(class_map, emotion):
            pairs.append((placeholder(dataset, subject, clip), str(emotion)))
            continue
        yield row, subject, clip, emotion
