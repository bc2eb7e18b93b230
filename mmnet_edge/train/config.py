"""What a training run depends on: :class:`TrainConfig` and the named training recipes.

Recipes (optimiser + schedule) are a registry keyed by name, like the model presets; each
model preset names its default recipe. An unknown name is a :class:`ConfigError` listing
the known ones. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from mmnet_edge.errors import ConfigError
from mmnet_edge.metadata import IMAGENET_MEAN, IMAGENET_STD
from mmnet_edge.model.registry import canonical_name, get_model_spec
from mmnet_edge.synth import SyntheticConfig
from mmnet_edge.train.augment import AugmentConfig

Protocol = Literal["loso", "holdout"]
PROTOCOLS: tuple[str, ...] = ("loso", "holdout")
#: where folds run: this process, one after another, or as tasks on a Ray cluster
EXECUTORS: tuple[str, ...] = ("in-process", "ray")


@dataclass(frozen=True)
class Recipe:
    """Optimiser and schedule: AdamW, ExponentialLR(γ) stepped for ``decay_epochs``."""

    lr: float
    weight_decay: float
    batch_size: int
    epochs: int
    gamma: float
    decay_epochs: int


RECIPES: dict[str, Recipe] = {}


def register_recipe(name: str, recipe: Recipe) -> Recipe:
    """Register ``recipe`` under ``name``; a name that is taken is a :class:`ConfigError`."""
    key = canonical_name(name)
    if key in RECIPES:
        raise ConfigError(f"training recipe {key!r} is already registered; pick another name")
    RECIPES[key] = recipe
    return recipe


def list_recipes() -> list[str]:
    """Registered recipe names, in registration order."""
    return list(RECIPES)


def get_recipe(name: str) -> Recipe:
    """The recipe registered as ``name``; unknown names list the known ones."""
    recipe = RECIPES.get(canonical_name(name))
    if recipe is None:
        raise ConfigError(
            f"unknown training recipe {name!r}; choose one of {', '.join(list_recipes())}"
        )
    return recipe


# The authors' recipe (both of their scripts).
register_recipe("paper", Recipe(8e-4, 0.6, 32, 74, 0.987, 50))
register_recipe("paper-3class", Recipe(8e-4, 0.6, 32, 74, 0.987, 50))
# CPU-sized: the tiny model learns the synthetic set in a few epochs. Tuned on the
# synthetic set (see docs/training.md); not a paper figure.
register_recipe("tiny", Recipe(2e-3, 0.05, 16, 16, 0.93, 16))


@dataclass
class TrainConfig:
    """Everything a training run depends on. ``None`` fields take the recipe's value.

    ``recipe_name`` picks a registered recipe (default: the one the model preset names);
    ``mean``/``std`` normalise the frames and are recorded in every checkpoint.

    ``executor`` runs the folds in this process (default) or as Ray tasks (``address``:
    ``None`` starts a local Ray, ``"auto"`` or ``HOST:PORT`` joins a cluster; each task
    asks for ``cpus_per_fold`` CPUs — default: ``threads`` — and ``gpus_per_fold`` GPUs).
    ``threads`` is the torch CPU thread count of every fold and of the final model, the same
    on every executor (default 2, 1 on a 1-CPU machine): with the same seed and config the
    fold weights are then bit-identical in-process and on Ray. ``seeds`` and ``grid``
    (a sequence of setting overrides, e.g. ``[{"lr": 1e-3}, {"lr": 2e-3}]``) make the run
    a sweep: use :func:`mmnet_edge.train.sweep`.
    """

    dataset: str = "synthetic"
    root: Path | str | None = None
    classes: str | None = None
    model: str = "paper"
    protocol: Protocol = "loso"
    output: Path | str = "runs/train"
    epochs: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    batch_size: int | None = None
    gamma: float | None = None
    decay_epochs: int | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    report_best_epoch: bool = False
    max_folds: int | None = None
    holdout_fraction: float = 0.2
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    synthetic: SyntheticConfig | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    final_model: bool = True
    resume: bool = True
    num_workers: int = 0
    threads: int | None = None
    progress: bool = True
    recipe_name: str | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    executor: str = "in-process"
    address: str | None = None
    gpus_per_fold: float = 0.0
    cpus_per_fold: float | None = None
    seeds: tuple[int, ...] | None = None
    grid: tuple[dict[str, Any], ...] = ()

    @property
    def is_sweep(self) -> bool:
        """True when ``seeds`` or ``grid`` fan this run out over several settings."""
        return bool(self.seeds) or bool(self.grid)

    def check_executor(self) -> None:
        """ConfigError for an unknown executor or non-positive per-fold resources."""
        if self.executor not in EXECUTORS:
            raise ConfigError(
                f"unknown executor {self.executor!r}; choose {' or '.join(EXECUTORS)}"
            )
        if (self.cpus_per_fold is not None and self.cpus_per_fold <= 0) or self.gpus_per_fold < 0:
            raise ConfigError("--cpus-per-fold must be > 0 and --gpus-per-fold ≥ 0")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads must be ≥ 1, got {self.threads}")

    def base_recipe_name(self) -> str:
        """The registered recipe this run starts from."""
        return canonical_name(self.recipe_name or get_model_spec(self.model).recipe)

    def recipe(self) -> Recipe:
        """The effective recipe: the named one, overridden by every field that is set."""
        base = get_recipe(self.base_recipe_name())
        r = replace(
            base,
            **{
                k: v
                for k, v in (
                    ("lr", self.lr),
                    ("weight_decay", self.weight_decay),
                    ("batch_size", self.batch_size),
                    ("epochs", self.epochs),
                    ("gamma", self.gamma),
                    ("decay_epochs", self.decay_epochs),
                )
                if v is not None
            },
        )
        if r.epochs < 1 or r.batch_size < 1 or r.lr <= 0 or not 0 < r.gamma <= 1:
            raise ConfigError(f"invalid training recipe {r}: need epochs ≥ 1, batch ≥ 1, lr > 0")
        return r


def default_synthetic(seed: int = 0) -> SyntheticConfig:
    """The synthetic set ``train`` draws when none is given (seeded like the run)."""
    return SyntheticConfig(seed=seed)


__all__ = [
    "EXECUTORS",
    "PROTOCOLS",
    "RECIPES",
    "Protocol",
    "Recipe",
    "TrainConfig",
    "default_synthetic",
    "get_recipe",
    "list_recipes",
    "register_recipe",
]
