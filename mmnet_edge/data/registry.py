"""Dataset registry: name → reader, class maps and aliases, in one table.

Readers are imported on first use. Each reader module defines ``CLASS_MAPS`` (map name →
(class names, label map)) and a loader ``load_x(root, classes=None, **options)``.
Add a dataset with :func:`register_dataset`; an unknown name is a :class:`DatasetError`
listing the known ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mmnet_edge.data.samples import MEDataset
from mmnet_edge.errors import DatasetError


@dataclass(frozen=True)
class DatasetSpec:
    """One registered dataset: its reader (``module:function``), aliases and a blurb."""

    name: str
    module: str
    loader_name: str
    aliases: tuple[str, ...] = ()
    description: str = ""

    def loader(self) -> Callable[..., MEDataset]:
        """The reader function (imports its module)."""
        return getattr(importlib.import_module(self.module), self.loader_name)  # type: ignore[no-any-return]

    def class_maps(self) -> dict[str, tuple[str, ...]]:
        """Available class maps: map name → class names."""
        maps: dict[str, tuple[Any, ...]] = importlib.import_module(self.module).CLASS_MAPS
        return {k: tuple(v[0]) for k, v in maps.items()}


_REGISTRY: dict[str, DatasetSpec] = {}
_ALIASES: dict[str, str] = {}


def normalise_name(name: str) -> str:
    """Lookup key of a dataset name: lower case without ``-``/``_`` (``CASME_2`` = ``casme2``)."""
    return str(name).strip().lower().replace("-", "").replace("_", "")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Add ``spec`` to the registry; a name or alias that is taken is a :class:`DatasetError`."""
    keys = [normalise_name(spec.name), *(normalise_name(a) for a in spec.aliases)]
    taken = [k for k in keys if k in _REGISTRY or k in _ALIASES]
    if taken:
        raise DatasetError(f"dataset name(s) {taken} already registered; pick another name")
    _REGISTRY[keys[0]] = spec
    for alias in keys[1:]:
        _ALIASES[alias] = keys[0]
    return spec


def list_datasets() -> list[str]:
    """Registered dataset names, in registration order."""
    return [s.name for s in _REGISTRY.values()]


def get_dataset(name: str) -> DatasetSpec:
    """The spec registered under ``name`` or one of its aliases."""
    key = normalise_name(name)
    spec = _REGISTRY.get(_ALIASES.get(key, key))
    if spec is None:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(list_datasets())}")
    return spec


for _spec in (
    DatasetSpec("casme2", "mmnet_edge.data.casme2", "load_casme2", ("casmeii",), "CASME II"),
    DatasetSpec("samm", "mmnet_edge.data.samm", "load_samm", (), "SAMM"),
    DatasetSpec("mmew", "mmnet_edge.data.mmew", "load_mmew", (), "MMEW"),
    DatasetSpec(
        "casme3", "mmnet_edge.data.casme3", "load_casme3", ("casme³", "cas(me)3"), "CAS(ME)³"
    ),
    DatasetSpec("synthetic", "mmnet_edge.data.synthetic", "load_synthetic", (), "procedural faces"),
):
    register_dataset(_spec)


__all__ = [
    "DatasetSpec",
    "get_dataset",
    "list_datasets",
    "normalise_name",
    "register_dataset",
]
