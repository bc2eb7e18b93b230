"""Evaluation splits: leave-one-subject-out folds and a subject-disjoint holdout."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from mmnet_edge.data.samples import Sample
from mmnet_edge.errors import DatasetError
from mmnet_edge.io import natural_sort_key


@dataclass(frozen=True)
class Fold:
    """One train/test split; ``name`` is the test subject (LOSO) or ``'holdout'``."""

    name: str
    train: tuple[Sample, ...]
    test: tuple[Sample, ...]

    @property
    def test_subjects(self) -> list[str]:
        return sorted({s.subject for s in self.test}, key=natural_sort_key)

    @property
    def train_subjects(self) -> list[str]:
        return sorted({s.subject for s in self.train}, key=natural_sort_key)


def loso_folds(samples: Sequence[Sample]) -> list[Fold]:
    """One fold per subject (natural order): that subject's samples are the test set."""
    subjects = sorted({s.subject for s in samples}, key=natural_sort_key)
    if len(subjects) < 2:
        raise DatasetError(
            f"LOSO needs at least 2 subjects, the dataset has {len(subjects)}; "
            "use --protocol holdout or add subjects"
        )
    return [
        Fold(
            subj,
            tuple(s for s in samples if s.subject != subj),
            tuple(s for s in samples if s.subject == subj),
        )
        for subj in subjects
    ]


def holdout_split(samples: Sequence[Sample], test_fraction: float = 0.2, seed: int = 0) -> Fold:
    """Subject-disjoint split: a seeded random ``test_fraction`` of subjects (≥ 1) is test."""
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"holdout test fraction must be in (0, 1), got {test_fraction}")
    subjects = sorted({s.subject for s in samples}, key=natural_sort_key)
    if len(subjects) < 2:
        raise DatasetError(
            f"a subject-disjoint holdout needs at least 2 subjects, the dataset has {len(subjects)}"
        )
    n_test = min(len(subjects) - 1, max(1, round(len(subjects) * test_fraction)))
    test_subjects = set(random.Random(seed).sample(subjects, n_test))
    return Fold(
        "holdout",
        tuple(s for s in samples if s.subject not in test_subjects),
        tuple(s for s in samples if s.subject in test_subjects),
    )


__all__ = ["Fold", "holdout_split", "loso_folds"]
