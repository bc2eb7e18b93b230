"""Datasets: sample model, readers for the official releases, synthetic set, splits.

``load_dataset(name, root, classes=...)`` is the one entry point; the names (``casme2``,
``samm``, ``mmew``, ``casme3``, ``synthetic``) come from :mod:`mmnet_edge.data.registry`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmnet_edge.data._common import DatasetWarning
from mmnet_edge.data.loso import Fold, holdout_split, loso_folds
from mmnet_edge.data.registry import (
    DatasetSpec,
    get_dataset,
    list_datasets,
    register_dataset,
)
from mmnet_edge.data.samples import MEDataset, Sample, read_rgb

DATASETS: tuple[str, ...] = tuple(list_datasets())  # the built-in names (see list_datasets)


def class_maps(name: str) -> dict[str, tuple[str, ...]]:
    """Available class maps of a dataset: map name → class names."""
    return get_dataset(name).class_maps()


def load_dataset(
    name: str,
    root: str | Path | None = None,
    classes: str | None = None,
    **kwargs: Any,
) -> MEDataset:
    """Load a dataset by name (see :func:`list_datasets`; unknown names list the known ones).

    ``classes`` picks the class map (``'5class'``, ``'3class'``… see :func:`class_maps`;
    ``None`` = the dataset's default). For ``synthetic``, ``root`` is ignored and keyword
    arguments go to :class:`~mmnet_edge.data.synthetic.SyntheticConfig` (or pass
    ``config=SyntheticConfig(...)``). Other keyword arguments go to the reader
    (e.g. ``layout='cropped'`` for CASME II).
    """
    return get_dataset(name).loader()(root, classes=classes, **kwargs)


__all__ = [
    "DATASETS",
    "DatasetSpec",
    "DatasetWarning",
    "Fold",
    "MEDataset",
    "Sample",
    "class_maps",
    "get_dataset",
    "holdout_split",
    "list_datasets",
    "load_dataset",
    "loso_folds",
    "read_rgb",
    "register_dataset",
]
