"""Registries: training recipes, datasets and the CLI choices that come from them."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from mmnet_edge.data import DATASETS, class_maps, list_datasets, load_dataset
from mmnet_edge.data.registry import _ALIASES, _REGISTRY, DatasetSpec, register_dataset
from mmnet_edge.errors import ConfigError, DatasetError
from mmnet_edge.model import list_models
from mmnet_edge.train.config import (
    RECIPES,
    Recipe,
    TrainConfig,
    get_recipe,
    list_recipes,
    register_recipe,
)

# ------------------------------------------------------------------------------ recipes


def test_each_model_preset_trains_with_its_own_recipe():
    assert TrainConfig(model="tiny").recipe() == get_recipe("tiny")
    assert TrainConfig(model="paper").recipe().epochs == 74  # the authors' recipe
    assert TrainConfig(model="tiny").recipe().epochs == 16
    # a named recipe replaces the preset's; set fields still override it
    r = TrainConfig(model="tiny", recipe_name="paper", batch_size=4).recipe()
    assert r == Recipe(8e-4, 0.6, 4, 74, 0.987, 50)


def test_unknown_model_or_recipe_is_an_error_not_the_paper_recipe():
    with pytest.raises(ConfigError) as err:
        TrainConfig(model="huge").recipe()
    assert all(name in str(err.value) for name in list_models())
    with pytest.raises(ConfigError) as err:
        TrainConfig(model="tiny", recipe_name="fast").recipe()
    assert all(name in str(err.value) for name in list_recipes())


def test_registered_recipe_is_selectable_and_names_are_unique():
    register_recipe("test-short", Recipe(1e-3, 0.0, 2, 1, 1.0, 0))
    try:
        assert "test-short" in list_recipes()
        assert TrainConfig(model="tiny", recipe_name="test_short").recipe().epochs == 1
        with pytest.raises(ConfigError, match="already registered"):
            register_recipe("test-short", Recipe(1e-3, 0.0, 2, 1, 1.0, 0))
    finally:
        RECIPES.pop("test-short")


def test_every_model_preset_names_a_registered_recipe():
    from mmnet_edge.model import get_model_spec

    for name in list_models():
        assert get_model_spec(name).recipe in list_recipes(), name


# ----------------------------------------------------------------------------- datasets


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(DatasetError) as err:
        load_dataset("casme9")
    assert all(name in str(err.value) for name in list_datasets())
    with pytest.raises(DatasetError):
        class_maps("casme9")


def test_dataset_names_aliases_and_class_maps_come_from_the_registry():
    assert DATASETS == ("casme2", "samm", "mmew", "casme3", "synthetic")
    assert class_maps("CASME_II") == class_maps("casme2")
    assert class_maps("cas(me)3") == class_maps("casme3")
    assert set(class_maps("casme2")) == {"5class", "3class"}
    assert class_maps("synthetic") == {
        "5class": ("happiness", "disgust", "repression", "surprise", "others")
    }
    with pytest.raises(DatasetError, match="only the '5class' map"):
        load_dataset("synthetic", classes="3class")


def test_registered_dataset_is_loadable_by_name():
    spec = DatasetSpec("test-toy", "mmnet_edge.data.synthetic", "load_synthetic", ("toy",))
    register_dataset(spec)
    try:
        assert "test-toy" in list_datasets()
        ds = load_dataset("TOY", subjects=1, samples_per_class=1, image_size=32)
        assert len(ds) == 5 and class_maps("test_toy") == class_maps("synthetic")
        with pytest.raises(DatasetError, match="already registered"):
            register_dataset(DatasetSpec("other", "m", "f", ("test-toy",)))
    finally:
        _REGISTRY.pop("testtoy")
        _ALIASES.pop("toy")


# ---------------------------------------------------------------------------------- CLI


def _choices(command: click.Command, name: str) -> list[str]:
    (param,) = [p for p in command.params if p.name == name]
    assert isinstance(param.type, click.Choice)
    return list(param.type.choices)


def test_train_cli_choices_come_from_the_registries():
    from mmnet_edge.cli.train import train

    assert _choices(train, "dataset") == list_datasets()
    assert _choices(train, "model") == list_models()
    assert _choices(train, "recipe") == list_recipes()


def test_train_cli_rejects_an_unknown_preset_listing_the_known_ones():
    from mmnet_edge.cli.train import train

    result = CliRunner().invoke(train, ["--config", "huge"])
    assert result.exit_code == 2
    assert all(name in result.output for name in list_models())
