"""Drawing a synthetic set: subject identities and per-sample pairs, all seeded by position.

Subject ``si`` of a set with seed ``s`` has the identity drawn from ``rng([s, si])``; sample
``k`` of class ``ci`` is drawn from ``rng([s, si, ci + 1, k])``. Every pair is therefore
independent of which other pairs are drawn, and sets with different seeds have different
subjects: :func:`heldout_pairs` (seed 1234) never shares a face with a training set drawn
with the default seeds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from mmnet_edge.synth.config import CLASS_NAMES, SyntheticConfig
from mmnet_edge.synth.face import FaceIdentity, canonical_face, random_identity
from mmnet_edge.synth.render import make_pair

HELDOUT_SEED = 1234


@dataclass(frozen=True)
class DrawnPair:
    """One drawn onset/apex pair and where it sits in the set."""

    subject_index: int
    class_index: int
    index: int  # k-th sample of this class for this subject
    onset: np.ndarray
    apex: np.ndarray


def subject_identity(cfg: SyntheticConfig, subject_index: int) -> FaceIdentity:
    """The face identity of subject ``subject_index`` of the set ``cfg`` describes."""
    return random_identity(np.random.default_rng([cfg.seed, subject_index]))


def iter_pairs(cfg: SyntheticConfig) -> Iterator[DrawnPair]:
    """Every pair of the set, subject by subject, class by class (deterministic)."""
    for si in range(cfg.subjects):
        identity = subject_identity(cfg, si)
        for ci in range(len(CLASS_NAMES)):
            for k in range(cfg.samples_per_class):
                rng = np.random.default_rng([cfg.seed, si, ci + 1, k])
                onset, apex = make_pair(identity, ci, rng, cfg.image_size, cfg)
                yield DrawnPair(si, ci, k, onset, apex)
        canonical_face.cache_clear()


def heldout_pairs(
    n: int, image_size: int, seed: int = HELDOUT_SEED, subjects: int = 2
) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Held-out (onset RGB uint8, apex RGB uint8, label index) pairs for validation.

    Drawn from ``subjects`` faces of a set seeded ``seed`` (not the training seeds), with
    ``max(1, n // (classes · subjects))`` samples per class and subject, in set order, at
    most ``n`` of them.
    """
    per_class = max(1, n // (len(CLASS_NAMES) * subjects))
    cfg = SyntheticConfig(
        subjects=subjects, samples_per_class=per_class, image_size=image_size, seed=seed
    )
    out: list[tuple[np.ndarray, np.ndarray, int]] = []
    for pair in iter_pairs(cfg):
        if len(out) >= n:
            break
        out.append((pair.onset, pair.apex, pair.class_index))
    canonical_face.cache_clear()
    return out


__all__ = ["HELDOUT_SEED", "DrawnPair", "heldout_pairs", "iter_pairs", "subject_identity"]
