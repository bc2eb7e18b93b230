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
    read_json,
)
from mmnet_edge.errors import CalibrationError
from mmnet_edge.metadata import IMAGENET_MEAN, IMAGENET_STD, ModelMetadata
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

    def __post_init__(self) -> None:
        check_tensors(self.onset, self.apex, self.labels, self.manifest.get("source", "set"))
        names = self.class_names
        if not isinstance(names, tuple | list) or not all(isinstance(n, str) for n in names):
            raise CalibrationError(f"class_names must be strings, got {names!r}; rebuild the set")
        self.class_names = tuple(names)
        if names and self.labels.size and int(self.labels.max()) >= len(names):
            raise CalibrationError(
                f"label {int(self.labels.max())} but only {len(names)} class names; rebuild the set"
            )

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


def check_tensors(onset: Any, apex: Any, labels: Any, where: str = "calibration set") -> None:
    """Raise :class:`CalibrationError` unless the arrays are a usable set: float32
    N×3×S×S onset/apex of one shape (N ≥ 1), finite, not constant; N integer labels ≥ −1."""
    fix = "rebuild it with `mmnet-edge calibrate build`"
    for name, t in (("onset", onset), ("apex", apex)):
        if not isinstance(t, np.ndarray):
            raise CalibrationError(f"{where}: {name} is {type(t).__name__}, not an array; {fix}")
        if t.dtype != np.float32:
            raise CalibrationError(
                f"{where}: {name} is {t.dtype}, expected float32 preprocessed tensors; {fix}"
            )
        if t.ndim != 4 or t.shape[1] != 3 or t.shape[2] != t.shape[3] or t.shape[2] < 16:
            raise CalibrationError(
                f"{where}: {name} has shape {t.shape}, expected N×3×S×S (S ≥ 16); {fix}"
            )
    if onset.shape != apex.shape:
        raise CalibrationError(f"{where}: onset {onset.shape} and apex {apex.shape} differ; {fix}")
    if onset.shape[0] == 0:
        raise CalibrationError(f"{where}: the set is empty (0 pairs); {fix} from real pairs")
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu":
        kind = getattr(labels, "dtype", type(labels).__name__)
        raise CalibrationError(f"{where}: labels must be integers, got {kind}; {fix}")
    if labels.shape != (onset.shape[0],):
        raise CalibrationError(
            f"{where}: {labels.shape} labels for {onset.shape[0]} pairs (need one each); {fix}"
        )
    if labels.size and int(labels.min()) < -1:
        raise CalibrationError(f"{where}: label {int(labels.min())} < −1 (−1 = unknown); {fix}")
    for name, t in (("onset", onset), ("apex", apex)):
        if not np.isfinite(t).all():
            raise CalibrationError(f"{where}: {name} holds NaN/Inf values; {fix}")
    if float(onset.max()) - float(onset.min()) < 1e-6:
        raise CalibrationError(f"{where}: every onset value is identical (blank frames?); {fix}")


def check_value_range(
    cs: CalibrationSet, mean: Sequence[float], std: Sequence[float], where: str = "set"
) -> None:
    """Values must lie where ``(pixel/255 − mean)/std`` can put them (per channel)."""
    lo = (0.0 - np.asarray(mean, np.float64)) / np.asarray(std, np.float64)
    hi = (1.0 - np.asarray(mean, np.float64)) / np.asarray(std, np.float64)
    slack = 0.02 * (hi - lo)
    for name, t in (("onset", cs.onset), ("apex", cs.apex)):
        got_lo, got_hi = t.min(axis=(0, 2, 3)), t.max(axis=(0, 2, 3))
        if (got_lo < lo - slack).any() or (got_hi > hi + slack).any():
            raise CalibrationError(
                f"calibration {where}: {name} values span "
                f"[{float(got_lo.min()):.3g}, {float(got_hi.max()):.3g}], outside the "
                f"[{float(lo.min()):.3g}, {float(hi.max()):.3g}] that normalised [0, 1] pixels "
                "can reach: the tensors were not preprocessed like the runtime's (raw 0..255 "
                "pixels, or another mean/std); rebuild with `mmnet-edge calibrate build`"
            )


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
    if not (len(onsets_rgb) == len(apexes_rgb) == len(labels)):
        raise CalibrationError(
            f"{len(onsets_rgb)} onsets, {len(apexes_rgb)} apexes and {len(labels)} labels: "
            "give one apex and one label per onset"
        )
    if not isinstance(input_size, int) or isinstance(input_size, bool) or input_size < 16:
        raise CalibrationError(f"input size must be an integer ≥ 16, got {input_size!r}")
    for i, (on, ap) in enumerate(zip(onsets_rgb, apexes_rgb)):
        for name, im in (("onset", on), ("apex", ap)):
            ok = isinstance(im, np.ndarray) and im.dtype == np.uint8 and im.ndim == 3
            if not ok or im.shape[2] != 3 or min(im.shape[:2]) == 0:
                raise CalibrationError(
                    f"pair {i}: {name} must be an H×W×3 RGB uint8 face crop, got "
                    f"{getattr(im, 'dtype', type(im).__name__)} {getattr(im, 'shape', '')}"
                )
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
            missing = sorted({"onset", "apex", "labels"} - set(z.files))
            if missing:
                raise CalibrationError(f"{path} lacks arrays {missing}; rebuild the set")
            onset, apex, labels = z["onset"], z["apex"], z["labels"]
    except CalibrationError:
        raise
    except Exception as exc:  # noqa: BLE001 - zip/npz errors vary
        raise CalibrationError(f"{path} is not a readable calibration set: {exc}") from exc
    manifest = read_json(man_path, CalibrationError, "rebuild the set")
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
    check_tensors(onset, apex, labels, str(path))
    pre = check_manifest(manifest, str(man_path), len(onset), int(onset.shape[-1]))
    names = manifest.get("class_names", [])
    cs = CalibrationSet(onset, apex, labels, tuple(names), manifest)
    check_value_range(cs, pre["mean"], pre["std"], str(path))
    return cs


def check_manifest(manifest: dict[str, Any], where: str, count: int, size: int) -> dict[str, Any]:
    """Types and facts of a set's manifest; returns its ``preprocessing`` (validated)."""

    def bad(what: str) -> CalibrationError:
        return CalibrationError(f"{where}: {what}; rebuild it with `mmnet-edge calibrate build`")

    if not isinstance(manifest.get("sha256"), str):
        raise bad("no sha256 string")
    names = manifest.get("class_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise bad(f"class_names must be a list of strings, got {names!r}")
    n = manifest.get("count", count)
    if not isinstance(n, int) or isinstance(n, bool) or n != count:
        raise bad(f"count {n!r} but the file holds {count} pairs")
    pre = manifest.get("preprocessing", {})
    if not isinstance(pre, dict):
        raise bad(f"preprocessing must be an object, got {pre!r}")
    pre = {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "input_size": size, **pre}
    for key in ("mean", "std"):
        v = pre[key]
        ok = isinstance(v, list) and len(v) == 3
        if not ok or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            raise bad(f"preprocessing.{key} must be 3 numbers, got {v!r}")
        if not np.isfinite(v).all():
            raise bad(f"preprocessing.{key} must be finite, got {v!r}")
    if min(pre["std"]) <= 0:
        raise bad(f"preprocessing.std must be positive, got {pre['std']!r}")
    if pre["input_size"] != size:
        raise bad(f"preprocessing.input_size {pre['input_size']!r} but the tensors are {size}px")
    return pre


def check_compatible(cs: CalibrationSet, meta: ModelMetadata) -> None:
    """The set must be preprocessed the way this model's runtime preprocesses."""
    check_tensors(cs.onset, cs.apex, cs.labels, "calibration set")
    pre = cs.manifest.get("preprocessing", {})
    if not isinstance(pre, dict):
        raise CalibrationError("calibration set manifest: preprocessing is not an object")
    if cs.input_size != meta.input_size:
        raise CalibrationError(
            f"calibration set is {cs.input_size}px, the model takes {meta.input_size}px: rebuild "
            f"it with --size {meta.input_size}"
        )
    if pre and (
        not np.allclose(pre.get("mean", meta.mean), meta.mean)
        or not np.allclose(pre.get("std", meta.std), meta.std)
    ):
        raise CalibrationError(
            "calibration set normalisation differs from the model's mean/std: rebuild it with "
            "--model pointing at this model"
        )
    order = pre.get("channel_order", "RGB") if pre else "RGB"
    if order != meta.channel_order:
        raise CalibrationError(
            f"calibration set channels are {order}, the model takes {meta.channel_order}: "
            "rebuild it with --model pointing at this model"
        )
    check_value_range(cs, meta.mean, meta.std, "set")
