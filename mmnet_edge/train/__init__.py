"""Training: the authors' recipe, LOSO / holdout protocols, metrics and reports.

Importing this package does not import torch: configs, recipes, metrics and results are
loaded eagerly; :func:`train`, :func:`fit`, :func:`predict_samples`, :func:`select_device`
and :class:`PairDataset` on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmnet_edge._lazy import lazy_attributes
from mmnet_edge.metrics import Metrics, compute_metrics
from mmnet_edge.train.augment import AugmentConfig
from mmnet_edge.train.config import (
    RECIPES,
    Recipe,
    TrainConfig,
    get_recipe,
    list_recipes,
    register_recipe,
)
from mmnet_edge.train.results import FoldResult, TrainResult

if TYPE_CHECKING:
    from mmnet_edge.train.dataset import PairDataset
    from mmnet_edge.train.device import select_device
    from mmnet_edge.train.driver import train
    from mmnet_edge.train.loop import fit, predict_samples
    from mmnet_edge.train.sweep import sweep

_LAZY: dict[str, str] = {
    "PairDataset": "mmnet_edge.train.dataset",
    "select_device": "mmnet_edge.train.device",
    "train": "mmnet_edge.train.driver",
    "fit": "mmnet_edge.train.loop",
    "predict_samples": "mmnet_edge.train.loop",
    "sweep": "mmnet_edge.train.sweep",
}


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)


__all__ = [
    "RECIPES",
    "AugmentConfig",
    "FoldResult",
    "Metrics",
    "PairDataset",
    "Recipe",
    "TrainConfig",
    "TrainResult",
    "compute_metrics",
    "fit",
    "get_recipe",
    "list_recipes",
    "predict_samples",
    "register_recipe",
    "select_device",
    "sweep",
    "train",
]
