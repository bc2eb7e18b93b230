"""Micro-expression metrics on pooled predictions: accuracy, UF1, UAR, confusion matrix.

UF1 is the macro F1 over classes, each class's F1 computed from counts pooled over all
folds (MEGC convention); UAR is the mean per-class recall. A class with no test samples
has no recall and is left out of UAR; a class that is neither present nor predicted is
left out of UF1 (its F1 is undefined); both cases are listed in ``Metrics.absent``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class ClassReport:
    name: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass
class Metrics:
    accuracy: float
    uf1: float
    uar: float
    per_class: list[ClassReport]
    confusion_matrix: list[list[int]]  # rows = true class, columns = predicted class
    class_names: list[str]
    n: int
    absent: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def confusion_matrix(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, num_classes: int
) -> np.ndarray:
    """C×C counts, rows = true class, columns = predicted class."""
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"{t.size} labels but {p.size} predictions")
    if t.size and (t.min() < 0 or p.min() < 0 or t.max() >= num_classes or p.max() >= num_classes):
        raise ValueError(f"labels/predictions must lie in 0..{num_classes - 1}")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def metrics_from_confusion(cm: np.ndarray, class_names: Sequence[str]) -> Metrics:
    """All metrics from a confusion matrix of pooled counts."""
    cm = np.asarray(cm, dtype=np.int64)
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    n = int(cm.sum())
    per_class: list[ClassReport] = []
    f1s: list[float] = []
    recalls: list[float] = []
    absent: list[str] = []
    for i, name in enumerate(class_names):
        prec = tp[i] / predicted[i] if predicted[i] else 0.0
        rec = tp[i] / support[i] if support[i] else 0.0
        denom = 2 * tp[i] + (predicted[i] - tp[i]) + (support[i] - tp[i])
        f1 = 2 * tp[i] / denom if denom else 0.0
        per_class.append(
            ClassReport(
                name, float(prec), float(rec), float(f1), int(support[i]), int(predicted[i])
            )
        )
        if support[i]:
            recalls.append(rec)
        else:
            absent.append(name)
        if denom:
            f1s.append(f1)
    return Metrics(
        accuracy=float(tp.sum() / n) if n else 0.0,
        uf1=float(np.mean(f1s)) if f1s else 0.0,
        uar=float(np.mean(recalls)) if recalls else 0.0,
        per_class=per_class,
        confusion_matrix=cm.tolist(),
        class_names=list(class_names),
        n=n,
        absent=absent,
    )


def compute_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
) -> Metrics:
    """Accuracy, UF1, UAR, per-class report and confusion matrix of pooled predictions."""
    return metrics_from_confusion(confusion_matrix(y_true, y_pred, len(class_names)), class_names)


def uf1(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> float:
    return compute_metrics(y_true, y_pred, [str(i) for i in range(num_classes)]).uf1


def uar(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> float:
    return compute_metrics(y_true, y_pred, [str(i) for i in range(num_classes)]).uar


__all__ = [
    "ClassReport",
    "Metrics",
    "compute_metrics",
    "confusion_matrix",
    "metrics_from_confusion",
    "uar",
    "uf1",
]
