"""Model registry: named MMNet configurations (timm-style ``register_model``).

A preset is a function ``(num_classes: int | None) -> MMNetConfig`` registered under a name;
:func:`list_models` lists them, :func:`create_config` builds one, :func:`create_model` builds
the network (the only function here that imports torch). The built-in presets live in
:mod:`mmnet_edge.model.presets`. Torch-free at import time.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mmnet_edge.errors import ConfigError
from mmnet_edge.model.config import MMNetConfig

if TYPE_CHECKING:
    from mmnet_edge.model.mmnet import MMNet

ConfigFactory = Callable[[int | None], MMNetConfig]


@dataclass(frozen=True)
class ModelSpec:
    """One registered preset: its name, config factory, default training recipe and blurb."""

    name: str
    factory: ConfigFactory
    recipe: str
    description: str = ""

    def config(self, num_classes: int | None = None) -> MMNetConfig:
        return self.factory(num_classes)


_REGISTRY: dict[str, ModelSpec] = {}
_BUILTINS = "mmnet_edge.model.presets"


def canonical_name(name: str) -> str:
    """Registry key of ``name``: lower case, ``_`` → ``-`` (``paper_3class`` = ``paper-3class``)."""
    return str(name).strip().lower().replace("_", "-")


def register_model(
    name: str | None = None, *, recipe: str | None = None, description: str | None = None
) -> Callable[[ConfigFactory], ConfigFactory]:
    """Decorator registering a config factory under ``name`` (default: the function's name).

    ``recipe`` names the training recipe the preset trains with by default (default: the
    preset's own name). Registering a name twice is a :class:`ConfigError`.
    """

    def deco(fn: ConfigFactory) -> ConfigFactory:
        key = canonical_name(name or fn.__name__)
        if key in _REGISTRY:
            raise ConfigError(f"model preset {key!r} is already registered; pick another name")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[key] = ModelSpec(key, fn, recipe or key, description or (doc[0] if doc else ""))
        return fn

    return deco


def _ensure_builtins() -> None:
    importlib.import_module(_BUILTINS)


def list_models(pattern: str | None = None) -> list[str]:
    """Registered preset names (sorted), optionally filtered by a shell-style ``pattern``."""
    _ensure_builtins()
    names = sorted(_REGISTRY)
    return [n for n in names if fnmatch.fnmatch(n, pattern)] if pattern else names


def get_model_spec(name: str) -> ModelSpec:
    """The registered preset ``name``; an unknown name is a :class:`ConfigError`."""
    _ensure_builtins()
    spec = _REGISTRY.get(canonical_name(name))
    if spec is None:
        raise ConfigError(
            f"unknown model preset {name!r}; choose one of {', '.join(list_models())} "
            "(or register your own with mmnet_edge.model.register_model)"
        )
    return spec


def create_config(name: str, num_classes: int | None = None) -> MMNetConfig:
    """The config of preset ``name`` (``num_classes=None``: the preset's default)."""
    return get_model_spec(name).config(num_classes)


def create_model(name: str, num_classes: int | None = None) -> MMNet:
    """A freshly initialised :class:`~mmnet_edge.model.mmnet.MMNet` of preset ``name``."""
    config = create_config(name, num_classes)
    from mmnet_edge.model.mmnet import MMNet

    return MMNet(config)


__all__ = [
    "ModelSpec",
    "canonical_name",
    "create_config",
    "create_model",
    "get_model_spec",
    "list_models",
    "register_model",
]
