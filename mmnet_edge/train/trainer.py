"""Compatibility re-exports: the trainer now lives in config / dataset / loop / driver.

:mod:`mmnet_edge.train.config` (TrainConfig, recipes), :mod:`mmnet_edge.train.dataset`
(PairDataset, loaders), :mod:`mmnet_edge.train.loop` (fit, predict_samples),
:mod:`mmnet_edge.train.driver` (train, folds, resume, final model),
:mod:`mmnet_edge.train.results` and :mod:`mmnet_edge.train.device`.
"""

from mmnet_edge.train.config import (
    RECIPES,
    Protocol,
    Recipe,
    TrainConfig,
    default_synthetic,
    get_recipe,
    list_recipes,
    register_recipe,
)
from mmnet_edge.train.dataset import PairDataset
from mmnet_edge.train.device import seed_everything, select_device
from mmnet_edge.train.driver import fold_seed, load_training_dataset, train
from mmnet_edge.train.loop import fit, predict_samples
from mmnet_edge.train.results import FoldResult, TrainResult

__all__ = [
    "RECIPES",
    "FoldResult",
    "PairDataset",
    "Protocol",
    "Recipe",
    "TrainConfig",
    "TrainResult",
    "default_synthetic",
    "fit",
    "fold_seed",
    "get_recipe",
    "list_recipes",
    "load_training_dataset",
    "predict_samples",
    "register_recipe",
    "seed_everything",
    "select_device",
    "train",
]
