"""Align to disk: pairs, folders of frames or videos → onset-locked PNG crops + ``align.json``.

Each clip goes to ``OUTPUT/<clip>/``: one PNG per frame, warped with ONE transform fitted on
the reference frame, and ``align.json`` (settings, source files, transform). The manifest is
written last, and only once every crop of the clip is on disk, so its presence means "this
clip is complete": a clip whose manifest matches the settings and source files is skipped
(the cache); a clip interrupted half-way (full disk, kill) has none and is redone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mmnet_edge.align.aligner import Aligner, AlignmentTransform, Policy
from mmnet_edge.align.detector import FaceDetector
from mmnet_edge.artifacts.files import atomic_path, atomic_write_text, remove_stale_temporaries
from mmnet_edge.errors import InputError, OutputError
from mmnet_edge.io import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    count_frames,
    iter_video,
    list_images,
    read_image,
)

MANIFEST = "align.json"

Source = list[Path] | Path  # frames of a pair/folder, or one video file


@dataclass(frozen=True)
class ClipResult:
    """One clip: its output ``folder``, frames ``written`` (0 when ``cached``), transform."""

    name: str
    folder: Path
    written: int
    cached: bool
    transform: AlignmentTransform | None = None


@dataclass(frozen=True)
class AlignToDiskResult:
    """What :func:`align_to_disk` did, clip by clip."""

    output: Path
    clips: list[ClipResult] = field(default_factory=list)

    @property
    def written(self) -> int:
        """Crops written in this call (all clips)."""
        return sum(c.written for c in self.clips)

    @property
    def all_cached(self) -> bool:
        """True when every clip was already aligned with these settings (nothing written)."""
        return all(c.cached for c in self.clips)


def plan_clips(inputs: Sequence[str | os.PathLike[str]]) -> list[tuple[str, Source]]:
    """Name and source of each clip: two images → ``pair``; a folder or video → its name."""
    paths = [Path(p) for p in inputs]
    if not paths:
        raise InputError("nothing to align: give two images (onset apex), folders or videos")
    if len(paths) == 2 and all(p.suffix.lower() in IMAGE_SUFFIXES for p in paths):
        for p in paths:
            if not p.is_file():
                raise InputError(f"image not found: {p}")
        return [("pair", paths)]
    jobs: list[tuple[str, Source]] = []
    for p in paths:
        if p.is_dir():
            files = list_images(p)
            if not files:
                raise InputError(f"{p}: no image files ({', '.join(IMAGE_SUFFIXES)})")
            jobs.append((p.name, files))
        elif p.suffix.lower() in VIDEO_SUFFIXES:
            if not p.is_file():
                raise InputError(f"video not found: {p}")
            jobs.append((p.stem, p))
        else:
            raise InputError(f"{p}: give two images (onset apex), folders of frames or video files")
    names = [n for n, _ in jobs]
    if len(set(names)) != len(names):
        raise InputError(f"two inputs would write to the same folder: {names}")
    return jobs


def source_signature(src: Source) -> list[list[object]]:
    """Name, size and mtime of each source file (what the cache compares)."""
    files = src if isinstance(src, list) else [src]
    return [[p.name, p.stat().st_size, int(p.stat().st_mtime)] for p in files]


def _is_cached(manifest: Path, wanted: dict[str, Any]) -> bool:
    if not manifest.is_file():
        return False
    try:
        old = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(old, dict) and all(old.get(k) == v for k, v in wanted.items())


def _frames(
    name: str, src: Source, aligner: Aligner, reference: int
) -> tuple[AlignmentTransform, Iterator[tuple[str, np.ndarray]]]:
    """The clip's transform (fitted on the reference frame) and its (stem, BGR frame) stream."""
    if isinstance(src, list):
        if not -len(src) <= reference < len(src):
            raise InputError(f"{name}: --reference {reference} outside 0..{len(src) - 1}")
        stems = [p.stem for p in src]
        if len(set(stems)) != len(stems):  # e.g. onset and apex with one file name
            stems = [f"{i:05d}_{s}" for i, s in enumerate(stems)]
        transform = aligner.fit(read_image(src[reference]), "bgr")
        return transform, ((s, read_image(p)) for s, p in zip(stems, src, strict=True))
    # a video is streamed twice: find the reference, then warp every frame
    ref = next((f for i, f in enumerate(iter_video(src)) if i == reference), None)
    if ref is None:
        raise InputError(f"{src}: --reference {reference} is past the last frame")
    transform = aligner.fit(ref, "bgr")
    return transform, ((f"{i:05d}", f) for i, f in enumerate(iter_video(src)))


def _write_png(path: Path, rgb: np.ndarray) -> None:
    """Write one crop atomically, so a failed write never leaves a partial PNG."""
    with atomic_path(path) as tmp:
        try:
            ok = cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        except cv2.error as exc:
            raise OutputError(f"could not write {path}: {exc}") from exc
        if not ok:
            raise OutputError(
                f"could not write {path}; check that the disk has space and the folder is "
                "writable, then rerun (finished clips are kept, this one is redone)"
            )


def _write_manifest(path: Path, record: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(record, indent=1))


def align_to_disk(
    inputs: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    detector: FaceDetector | str | os.PathLike[str] | None = None,
    size: int = 224,
    margin: float = 0.25,
    reference: int = 0,
    policy: Policy = "largest",
    min_face: int = 48,
    refine: int = 2,
    overwrite: bool = False,
    progress: bool = False,
) -> AlignToDiskResult:
    """Write onset-locked aligned crops of each clip to ``output/<clip>/`` (PNG, RGB content).

    Args:
        inputs: two images (onset, apex → clip ``pair``), folders of frames (one clip each,
            natural order) or video files (clip named after the file stem).
        output: folder that receives one sub-folder per clip.
        detector: a :class:`FaceDetector`, a YuNet model path, or ``None`` (environment
            variable / cache dir; see :func:`~mmnet_edge.align.resolve_detector_model`).
        size, margin, policy, min_face, refine: as for :class:`Aligner`.
        reference: index of the frame the transform is fitted on.
        overwrite: redo clips even when a matching ``align.json`` exists.
        progress: show a progress bar (stderr).

    Raises:
        InputError: unusable inputs (wrong kind, no images, reference out of range,
            frames of different sizes).
        OutputError: a crop or manifest could not be written (full disk, permissions);
            that clip has no ``align.json`` and is redone on the next call.
        AlignmentError: no face in a clip's reference frame, or no detector.
    """
    out = Path(output)
    jobs = plan_clips(inputs)
    settings = {
        "size": size,
        "margin": margin,
        "reference": reference,
        "policy": policy,
        "min_face": min_face,
        "refine": refine,
    }
    clips: list[ClipResult] = []
    todo: list[tuple[str, Source, dict[str, Any]]] = []
    for name, src in jobs:
        wanted = {"settings": settings, "source": source_signature(src)}
        if not overwrite and _is_cached(out / name / MANIFEST, wanted):
            clips.append(ClipResult(name, out / name, 0, cached=True))
        else:
            todo.append((name, src, wanted))
    if not todo:
        return AlignToDiskResult(out, clips)

    if detector is None or isinstance(detector, (str, os.PathLike)):
        from mmnet_edge.align.detector import YuNetDetector

        detector = YuNetDetector(detector)
    aligner = Aligner(
        detector,
        output_size=size,
        margin=margin,
        policy=policy,
        min_face=min_face,
        refine=refine,
    )
    from tqdm import tqdm

    total = sum(len(s) if isinstance(s, list) else (count_frames(s) or 0) for _, s, _ in todo)
    with tqdm(total=total or None, desc="align", unit="frame", disable=not progress) as bar:
        for name, src, wanted in todo:
            dest = out / name
            try:
                dest.mkdir(parents=True, exist_ok=True)
                (dest / MANIFEST).unlink(missing_ok=True)  # incomplete until rewritten
                remove_stale_temporaries(dest)  # left by a killed earlier run
            except OSError as exc:
                raise OutputError(
                    f"cannot write to {dest}: {exc}; choose a writable --out folder"
                ) from exc
            transform, frames = _frames(name, src, aligner, reference)
            shape = None
            written = 0
            for stem, frame in frames:
                if shape is None:
                    shape = frame.shape[:2]
                elif frame.shape[:2] != shape:
                    raise InputError(f"{name}/{stem}: frame size differs from the clip's")
                _write_png(dest / f"{stem}.png", aligner.warp(frame, transform, "bgr"))
                written += 1
                bar.update(1)
            _write_manifest(dest / MANIFEST, {**wanted, "transform": transform.to_dict()})
            clips.append(ClipResult(name, dest, written, cached=False, transform=transform))
    order = {name: i for i, (name, _) in enumerate(jobs)}
    return AlignToDiskResult(out, sorted(clips, key=lambda c: order[c.name]))


__all__ = ["MANIFEST", "AlignToDiskResult", "ClipResult", "align_to_disk", "plan_clips"]
