"""Synthetic micro-motion set: procedurally drawn faces with subtle AU-like motions.

Each *subject* is a random face identity (geometry, skin tone, skin texture, hair, lighting).
Each sample is an onset/apex pair of that face in a random head pose (shared by both frames)
where the apex adds a class-specific, local, smooth displacement field of 1–3 px at 224 px,
modelled on FACS action units:

========== ===================================================================
class      motion (apex relative to onset)
========== ===================================================================
happiness  AU12 lip-corner puller (+ AU6 cheek raiser): corners move out and up
disgust    AU4 brow lowerer + AU9 nose wrinkler: inner brows down/in, nose wings up
repression AU14 dimpler / AU15 lip-corner depressor: corners move in and down
surprise   AU1+2 brow raiser (+ AU5): both brows and upper lids move up
others     one random other AU: AU7 lid tightener, AU17 chin raiser, AU24 lip
           presser, AU2 unilateral brow, AU43 partial eye closure
========== ===================================================================

Nuisance the model must ignore is applied to the apex only: a global sub-pixel translation
and rotation (head jitter), an illumination change (gain + gradient), and independent sensor
noise on both frames. Everything is deterministic from ``SyntheticConfig.seed``.

The renderer and motion model live in :mod:`mmnet_edge.synth` (torch- and dataset-free);
this module turns their pairs into a :class:`~mmnet_edge.data.samples.MEDataset`, and
:mod:`mmnet_edge.data.casme2_writer` writes a set in the official CASME II layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmnet_edge.data.samples import MEDataset, Sample
from mmnet_edge.errors import DatasetError
from mmnet_edge.synth import (
    CLASS_AUS,
    CLASS_NAMES,
    REFERENCE_SIZE,
    FaceIdentity,
    Motion,
    Nuisance,
    Pose,
    SyntheticConfig,
    iter_pairs,
    make_clip,
    make_pair,
    random_identity,
    render_face,
    sample_motion,
    subject_identity,
)

# one class map (the CASME II 5-class names), in the readers' (names, label map) form
CLASS_MAPS: dict[str, tuple[tuple[str, ...], dict[str, str | None]]] = {
    "5class": (CLASS_NAMES, {n: n for n in CLASS_NAMES}),
}


class SyntheticSet(MEDataset):
    """In-memory synthetic samples (``Sample.onset_image`` / ``apex_image`` are RGB uint8)."""

    def __init__(
        self,
        samples: list[Sample],
        config: SyntheticConfig,
        identities: dict[str, FaceIdentity],
    ) -> None:
        super().__init__(samples, CLASS_NAMES, "synthetic", None, "5class")
        self.config = config
        self.identities = identities


def subject_name(index: int) -> str:
    """Subject id of the ``index``-th synthetic subject (``sub01``…)."""
    return f"sub{index + 1:02d}"


def generate_synthetic(cfg: SyntheticConfig | None = None) -> SyntheticSet:
    """Draw the whole set (deterministic from ``cfg.seed``)."""
    cfg = cfg or SyntheticConfig()
    samples: list[Sample] = []
    identities = {subject_name(si): subject_identity(cfg, si) for si in range(cfg.subjects)}
    for pair in iter_pairs(cfg):
        cname = CLASS_NAMES[pair.class_index]
        samples.append(
            Sample(
                subject=subject_name(pair.subject_index),
                clip_id=f"EP{pair.class_index + 1:02d}_{pair.index + 1:02d}s",
                onset_path=None,
                apex_path=None,
                label=pair.class_index,
                label_name=cname,
                dataset="synthetic",
                aus=CLASS_AUS[cname],
                emotion=cname,
                onset_image=pair.onset,
                apex_image=pair.apex,
            )
        )
    return SyntheticSet(samples, cfg, identities)


def load_synthetic(
    root: Path | str | None = None,
    classes: str | None = None,
    config: SyntheticConfig | None = None,
    **options: Any,
) -> SyntheticSet:
    """Dataset-reader entry point: ``root`` is ignored; ``options`` are
    :class:`SyntheticConfig` fields (or pass ``config``)."""
    if classes not in (None, "5class"):
        raise DatasetError(f"synthetic set has only the '5class' map, not {classes!r}")
    return generate_synthetic(config or SyntheticConfig(**options))


__all__ = [
    "CLASS_AUS",
    "CLASS_MAPS",
    "CLASS_NAMES",
    "REFERENCE_SIZE",
    "FaceIdentity",
    "Motion",
    "Nuisance",
    "Pose",
    "SyntheticConfig",
    "SyntheticSet",
    "generate_synthetic",
    "load_synthetic",
    "make_clip",
    "make_pair",
    "random_identity",
    "render_face",
    "sample_motion",
    "subject_name",
]
