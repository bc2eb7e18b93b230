"""Calibration sets: preprocessed onset/apex tensors + a manifest, built exactly as the
runtime preprocesses (same alignment, same ``mmnet_edge.preprocess``).

Stored as ``NAME.npz`` (float32 ``onset``/``apex`` N×3×S×S, int ``labels``, −1 = unknown)
and ``NAME.json`` (source, count, class histogram, preprocessing, SHA-256 of the tensors).

Sizes: ``DEFAULT_SIZE`` = 256 pairs, ``MIN_SIZE`` = 64. MinMax/percentile ranges from fewer
than ~64 pairs move noticeably between draws (the extreme activations of rare classes are
missed), and entropy calibration needs enough samples to fill its histograms; beyond a few
hundred pairs the ranges stop changing while calibration time grows linearly. Cover every
subject and class you can: a set of one class calibrates that class's activations only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.artifacts.files import atomic_path, atomic_write_text
from mmnet_edge.artifacts.manifests import (
    CALIBRATION_FORMAT,
    CALIBRATION_FORMAT_VERSION,
    check_format,
)
from mmnet_edge.errors import CalibrationError
from mmnet_edge.metadata import CASME2_CLASSES, IMAGENET_MEAN, IMAGENET_STD, ModelMetadata
from mmnet_edge.preprocess import to_tensor

log = logging.getLogger(__name__)

DEFAULT_SIZE = 256
MIN_SIZE = 64


class SmallCalibrationSetWarning(UserWarning):
    """The calibration set is smaller than ``MIN_SIZE`` pairs."""


@dataclass
class CalibrationSet:
    onset: np.ndarray
    apex: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    manifest: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.onset.shape[0])

    @property
    def input_size(self) -> int:
        return int(self.onset.shape[-1])

    @property
    def has_labels(self) -> bool:
        return bool((self.labels >= 0).all())

    def sha256(self) -> str:
        return tensor_hash(self.onset, self.apex, self.labels)

    def batches(self, batch: int = 8):  # noqa: ANN201
        for i in range(0, len(self), batch):
            yield self.onset[i : i + batch], self.apex[i : i + batch]


def tensor_hash(onset: np.ndarray, apex: np.ndarray, labels: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in (onset, apex, labels):
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def make_set(
    onsets_rgb: Sequence[np.ndarray],
    apexes_rgb: Sequence[np.ndarray],
    labels: Sequence[int],
    class_names: Sequence[str],
    input_size: int,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    source: str = "",
    aligned: str | dict[str, Any] = "none (caller-supplied crops)",
) -> CalibrationSet:
    """Preprocess aligned RGB uint8 crops into a calibration set (warns below MIN_SIZE)."""
    if len(onsets_rgb) == 0:
        raise CalibrationError(f"calibration source {source!r} produced no pairs")
    if len(onsets_rgb) < MIN_SIZE:
        warnings.warn(
            f"calibration set has only {len(onsets_rgb)} pairs (< {MIN_SIZE}): INT8 ranges will "
            f"be unreliable; use {DEFAULT_SIZE}+ pairs covering all subjects and classes",
            SmallCalibrationSetWarning,
            stacklevel=2,
        )
    onset = to_tensor(list(onsets_rgb), input_size, mean, std)
    apex = to_tensor(list(apexes_rgb), input_size, mean, std)
    lab = np.asarray(labels, dtype=np.int64)
    hist = Counter(int(v) for v in lab)
    names = tuple(class_names)
    manifest = {
        "format": f"{CALIBRATION_FORMAT}/{CALIBRATION_FORMAT_VERSION}",
        "source": source,
        "count": len(lab),
        "class_histogram": {
            (names[k] if 0 <= k < len(names) else "unknown"): v for k, v in sorted(hist.items())
        },
        "preprocessing": {
            "input_size": input_size,
            "mean": list(map(float, mean)),
            "std": list(map(float, std)),
            "channel_order": "RGB",
            "alignment": aligned,
        },
        "class_names": list(names),
    }
    cs = CalibrationSet(onset, apex, lab, names, manifest)
    cs.manifest["sha256"] = cs.sha256()
    return cs


def save_calibration_set(cs: CalibrationSet, path: Path | str) -> Path:
    """Write ``path`` (.npz) and its ``.json`` manifest, each atomically (manifest last)."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, onset=cs.onset, apex=cs.apex, labels=cs.labels)
    cs.manifest["sha256"] = cs.sha256()
    atomic_write_text(path.with_suffix(".json"), json.dumps(cs.manifest, indent=2, sort_keys=True))
    return path


def load_calibration_set(path: Path | str) -> CalibrationSet:
    """Load ``.npz`` + manifest; the tensors' hash must match the manifest."""
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"calibration set not found: {path}")
    man_path = path.with_suffix(".json")
    if not man_path.is_file():
        raise CalibrationError(f"{path}: manifest {man_path.name} is missing; rebuild the set")
    try:
        with np.load(path, allow_pickle=False) as z:
            onset, apex, labels = z["onset"], z["apex"], z["labels"]
    except Exception as exc:  # noqa: BLE001 - zip/npz errors vary
        raise CalibrationError(f"{path} is not a readable calibration set: {exc}") from exc
    try:
        manifest = json.loads(man_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{man_path} is not valid JSON ({exc}); rebuild the set") from exc
    if not isinstance(manifest, dict):
        raise CalibrationError(f"{man_path} is not a JSON object; rebuild the set")
    check_format(
        manifest.get("format"),
        CALIBRATION_FORMAT,
        CALIBRATION_FORMAT_VERSION,
        str(man_path),
        CalibrationError,
        "rebuild the set with `mmnet-edge calibrate build`",
    )
    got = tensor_hash(onset, apex, labels)
    if manifest.get("sha256") != got:
        raise CalibrationError(
            f"{path}: tensors do not match the manifest hash (file changed or corrupt); rebuild it"
        )
    return CalibrationSet(onset, apex, labels, tuple(manifest.get("class_names", ())), manifest)


def check_compatible(cs: CalibrationSet, meta: ModelMetadata) -> None:
    """The set must be preprocessed the way this model's runtime preprocesses."""
    pre = cs.manifest.get("preprocessing", {})
    if cs.input_size != meta.input_size:
        raise CalibrationError(
            f"calibration set is {cs.input_size}px, the model takes {meta.input_size}px: rebuild "
            f"it with --size {meta.input_size}"
        )
    if pre and (
        not np.allclose(pre.get("mean", meta.mean), meta.mean)
        or not np.allclose(pre.get("std", meta.std), meta.std)
    ):
        raise CalibrationError("calibration set normalisation differs from the model's mean/std")


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
    """One pair per video: first frame = onset, apex spotted as the runtime does."""
    from mmnet_edge.io import read_video
    from mmnet_edge.preprocess import as_rgb_uint8
    from mmnet_edge.runtime.spotting import motion_curve, spot_apex

    aligner = _aligner(input_size, detector, align)
    ons, aps = [], []
    for v in videos:
        frames = [as_rgb_uint8(f) for f in read_video(v)]
        if aligner is not None:
            frames = aligner.align_clip(frames, reference=0, color="rgb").frames
        apex = spot_apex(motion_curve(frames), 0)
        ons.append(frames[0])
        aps.append(frames[apex])
    return make_set(
        ons,
        aps,
        [-1] * len(ons),
        class_names,
        input_size,
        source=f"{len(videos)} videos (apex spotted)",
        aligned=alignment_settings(aligner, "none (frames used as given)"),
    )
