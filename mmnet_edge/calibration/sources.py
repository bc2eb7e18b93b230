"""Calibration-set builders: from the synthetic set, a dataset's annotation files, a folder of
onset/apex pairs, or videos (apex found by spotting) — each aligned and preprocessed exactly
as the runtime does, then stored with :func:`~mmnet_edge.calibration.dataset.make_set`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.calibration.dataset import (
    DEFAULT_SIZE,
    CalibrationSet,
    make_set,
    save_calibration_set,
)
from mmnet_edge.errors import CalibrationError
from mmnet_edge.metadata import CASME2_CLASSES


# ----------------------------------------------------------------------------- builders
def from_synthetic(
    input_size: int, subjects: int = 5, per_class: int = 8, seed: int = 0
) -> CalibrationSet:
    """The built-in synthetic micro-motion set (demos/tests; real data calibrates better)."""
    from mmnet_edge.data.synthetic import SyntheticConfig, generate_synthetic

    ds = generate_synthetic(
        SyntheticConfig(subjects=subjects, samples_per_class=per_class, seed=seed)
    )
    pairs = [s.load_pair() for s in ds.samples]
    return make_set(
        [p[0] for p in pairs],
        [p[1] for p in pairs],
        [s.label for s in ds.samples],
        ds.class_names,
        input_size,
        source=f"synthetic(subjects={subjects}, per_class={per_class}, seed={seed})",
        aligned="synthetic faces are generated aligned",
    )


def build_set(
    source: str,
    output: Path | str,
    *,
    input_size: int | None = None,
    model: Path | str | None = None,
    dataset: str | None = None,
    classes: str | None = None,
    limit: int = DEFAULT_SIZE,
    align: bool | None = None,
    detector: str | None = None,
    subjects: int = 5,
    per_class: int = 8,
    seed: int = 0,
) -> CalibrationSet:
    """Build a set from ``source`` and save it atomically to ``output`` (+ manifest).

    ``source``: ``"synthetic"``, a dataset root (with ``dataset``), a folder of
    *onset*/*apex* image pairs, or comma-separated video files. The input size comes from
    ``input_size``, else ``model``'s metadata, else 224. ``align`` defaults to on for pairs
    and videos, off for dataset crops (released already cropped).
    """
    if input_size is None and model is not None:
        from mmnet_edge.artifacts.metadata_io import read_metadata

        input_size = read_metadata(model).input_size
    size = input_size or 224
    if limit < 1:
        raise CalibrationError(f"limit must be ≥ 1 pair, got {limit}")
    if source == "synthetic":
        cs = from_synthetic(size, subjects, per_class, seed)
    elif dataset:
        cs = from_dataset(dataset, source, size, classes, limit, bool(align), detector, seed)
    elif Path(source).is_dir():
        cs = from_pair_folder(source, size, align is not False, detector)
    else:
        videos = [v.strip() for v in source.split(",") if v.strip()]
        if not videos:
            raise CalibrationError(f"calibration source {source!r} names no file")
        cs = from_videos(videos, size, align is not False, detector)
    save_calibration_set(cs, output)
    return cs


def build_synthetic_set(
    path: Path | str, input_size: int, subjects: int = 5, per_class: int = 8, seed: int = 0
) -> Path:
    return save_calibration_set(from_synthetic(input_size, subjects, per_class, seed), path)


def _aligner(input_size: int, detector: str | None, align: bool) -> Any:
    """The runtime's aligner (same detector type and defaults as ``Runtime``)."""
    if not align:
        return None
    from mmnet_edge.align import Aligner, YuNetDetector

    return Aligner(YuNetDetector(detector), output_size=input_size)


def alignment_settings(aligner: Any, fallback: str) -> str | dict[str, Any]:
    """What the manifest records about alignment: the aligner's parameters, or ``fallback``."""
    if aligner is None:
        return fallback
    return {
        "method": "face detector landmarks → similarity warp, fitted on the onset frame",
        "detector": type(aligner.detector).__name__,
        "output_size": aligner.output_size,
        "margin": aligner.margin,
        "policy": aligner.policy,
        "min_face": aligner.min_face,
        "refine": aligner.refine,
        "refine_views": aligner.refine_views,
        "refine_size": aligner.refine_size,
    }


def from_dataset(
    name: str,
    root: str | Path,
    input_size: int,
    classes: str | None = None,
    limit: int = DEFAULT_SIZE,
    align: bool = False,
    detector: str | None = None,
    seed: int = 0,
) -> CalibrationSet:
    """Pairs from a dataset reader (balanced random draw of at most ``limit``)."""
    from mmnet_edge.data import load_dataset

    ds = load_dataset(name, root, classes=classes)
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(ds.samples))[:limit]
    aligner = _aligner(input_size, detector, align)
    ons, aps, labs = [], [], []
    for i in sorted(idx):
        s = ds.samples[int(i)]
        on, ap = s.load_pair()
        if aligner is not None:
            pair = aligner.align_pair(on, ap, color="rgb")
            on, ap = pair.onset, pair.apex
        ons.append(on)
        aps.append(ap)
        labs.append(s.label)
    return make_set(
        ons,
        aps,
        labs,
        ds.class_names,
        input_size,
        source=f"dataset {name} {root}",
        aligned=alignment_settings(aligner, "dataset crops as released"),
    )


def from_pair_folder(
    folder: str | Path,
    input_size: int,
    align: bool = True,
    detector: str | None = None,
    class_names: Sequence[str] = CASME2_CLASSES,
) -> CalibrationSet:
    """``folder/<pair>/onset.*`` + ``apex.*`` (or ``*_onset.*``/``*_apex.*`` files); unlabelled."""
    from mmnet_edge.io import is_image_path, natural_sort_key, read_image
    from mmnet_edge.preprocess import as_rgb_uint8

    folder = Path(folder)
    pairs: list[tuple[Path, Path]] = []
    for p in sorted(folder.rglob("*"), key=natural_sort_key):
        if is_image_path(p) and "onset" in p.stem:
            apex_stem = p.stem.replace("onset", "apex")
            twin = sorted(q for q in p.parent.iterdir() if q.stem == apex_stem and is_image_path(q))
            if twin:
                pairs.append((p, twin[0]))
    if not pairs:
        raise CalibrationError(f"{folder}: no onset/apex image pairs (name them *onset*/*apex*)")
    aligner = _aligner(input_size, detector, align)
    ons, aps = [], []
    for on_p, ap_p in pairs:
        on, ap = as_rgb_uint8(read_image(on_p)), as_rgb_uint8(read_image(ap_p))
        if aligner is not None:
            pr = aligner.align_pair(on, ap, color="rgb")
            on, ap = pr.onset, pr.apex
        ons.append(on)
        aps.append(ap)
    return make_set(
        ons,
        aps,
        [-1] * len(ons),
        class_names,
        input_size,
        source=f"pairs {folder}",
        aligned=alignment_settings(aligner, "none (frames used as given)"),
    )


def from_videos(
    videos: Sequence[str | Path],
    input_size: int,
    align: bool = True,
    detector: str | None = None,
    class_names: Sequence[str] = CASME2_CLASSES,
) -> CalibrationSet:
    """One pair per video: first frame = onset, apex spotted as the runtime does (frames are
    read one at a time: any length, bounded memory)."""
    from mmnet_edge.runtime.spotting import ClipFrames, spot_clip

    aligner = _aligner(input_size, detector, align)

    def prepare(onset_rgb: np.ndarray) -> Any:
        if aligner is None:
            return lambda f: f
        transform = aligner.fit(onset_rgb, "rgb")
        return lambda f: aligner.warp(f, transform, "rgb")

    ons, aps = [], []
    for v in videos:
        spot = spot_clip(ClipFrames(v, "bgr"), 0, prepare)
        ons.append(spot.onset)
        aps.append(spot.apex)
    return make_set(
        ons,
        aps,
        [-1] * len(ons),
        class_names,
        input_size,
        source=f"{len(videos)} videos (apex spotted)",
        aligned=alignment_settings(aligner, "none (frames used as given)"),
    )
