"""Kept import path: the metrics live in :mod:`mmnet_edge.metrics` (shared with calibration)."""

from mmnet_edge.metrics import (
    ClassReport,
    Metrics,
    compute_metrics,
    confusion_matrix,
    metrics_from_confusion,
    uar,
    uf1,
)

__all__ = [
    "ClassReport",
    "Metrics",
    "compute_metrics",
    "confusion_matrix",
    "metrics_from_confusion",
    "uar",
    "uf1",
]
