"""Datasets: sample model, readers for the official releases, synthetic set, splits.

``load_dataset(name, root, classes=...)`` is the one entry point; names are ``casme2``,
``samm``, ``mmew``, ``casme3`` and ``synthetic``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmnet_edge.data._common import DatasetWarning
from mmnet_edge.data.loso import Fold, holdout_split, loso_folds
from mmnet_edge.data.samples import MEDataset, Sample, read_rgb
from mmnet_edge.errors import DatasetError

DATASETS = ("casme2", "samm", "mmew", "casme3", "synthetic")


def _loader(name: str) -> Callable[..., MEDataset]:
    if name == "casme2":
        from mmnet_edge.data.casme2 import load_casme2

        return load_casme2
    if name == "samm":
        from mmnet_edge.data.samm import load_samm

        return load_samm
    if name == "mmew":
        from mmnet_edge.data.mmew import load_mmew

        return load_mmew
    if name == "casme3":
        from mmnet_edge.data.casme3 import load_casme3

        return load_casme3
    raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def class_maps(name: str) -> dict[str, tuple[str, ...]]:
    """Available class maps of a dataset: map name → class names."""
    key = _normalise(name)
    if key == "synthetic":
        from mmnet_edge.data.synthetic import CLASS_NAMES

        return {"5class": CLASS_NAMES}
    module = {"casme2": "casme2", "samm": "samm", "mmew": "mmew", "casme3": "casme3"}.get(key)
    if module is None:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    import importlib

    mod = importlib.import_module(f"mmnet_edge.data.{module}")
    return {k: v[0] for k, v in mod.CLASS_MAPS.items()}


def _normalise(name: str) -> str:
    key = str(name).lower().replace("-", "").replace("_", "")
    return {"casmeii": "casme2", "casme³": "casme3", "cas(me)3": "casme3"}.get(key, key)


def load_dataset(
    name: str,
    root: str | Path | None = None,
    classes: str | None = None,
    **kwargs: Any,
) -> MEDataset:
    """Load a dataset by name.

    ``classes`` picks the class map (``'5class'``, ``'3class'``… see :func:`class_maps`;
    ``None`` = the dataset's default). For ``synthetic``, ``root`` is ignored and keyword
    arguments go to :class:`~mmnet_edge.data.synthetic.SyntheticConfig` (or pass
    ``config=SyntheticConfig(...)``). Other keyword arguments go to the reader
    (e.g. ``layout='cropped'`` for CASME II).
    """
    key = _normalise(name)
    if key == "synthetic":
        from mmnet_edge.data.synthetic import SyntheticConfig, generate_synthetic

        if classes not in (None, "5class"):
            raise DatasetError(f"synthetic set has only the '5class' map, not {classes!r}")
        cfg = kwargs.pop("config", None) or SyntheticConfig(**kwargs)
        return generate_synthetic(cfg)
    return _loader(key)(root, classes=classes, **kwargs)


__all__ = [
    "DATASETS",
    "DatasetWarning",
    "Fold",
    "MEDataset",
    "Sample",
    "class_maps",
    "holdout_split",
    "load_dataset",
    "loso_folds",
    "read_rgb",
]
