"""Training: the authors' recipe, LOSO / holdout protocols, metrics and reports."""

from mmnet_edge.train.augment import AugmentConfig
from mmnet_edge.train.metrics import Metrics, compute_metrics
from mmnet_edge.train.trainer import (
    RECIPES,
    FoldResult,
    Recipe,
    TrainConfig,
    TrainResult,
    fit,
    predict_samples,
    select_device,
    train,
)

__all__ = [
    "RECIPES",
    "AugmentConfig",
    "FoldResult",
    "Metrics",
    "Recipe",
    "TrainConfig",
    "TrainResult",
    "compute_metrics",
    "fit",
    "predict_samples",
    "select_device",
    "train",
]
