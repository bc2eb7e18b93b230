"""Model metadata of the wrong JSON type or value → CheckpointError with a precise message."""

from __future__ import annotations

import json

import pytest

from mmnet_edge.errors import CheckpointError
from mmnet_edge.metadata import SCHEMA_VERSION, ModelMetadata
from mmnet_edge.model import create_config


def good() -> dict:
    return ModelMetadata(config=create_config("tiny")).to_dict()


def with_(**changes: object) -> dict:
    d = good()
    d.update(changes)
    return d


def with_config(**changes: object) -> dict:
    d = good()
    d["config"] = {**d["config"], **changes}
    return d


# (case, metadata JSON value, a phrase the message must contain)
BAD = [
    ("list", [1, 2], "JSON object, got list"),
    ("number", 3, "JSON object, got int"),
    ("null", None, "JSON object, got null"),
    ("string", "hello", "JSON object, got str"),
    ("schema text", with_(schema="abc"), "schema must be a positive integer"),
    ("schema float", with_(schema=1.5), "schema must be a positive integer"),
    ("schema zero", with_(schema=0), "schema must be a positive integer"),
    ("mean string", with_(mean="0.5,0.5,0.5"), "mean must be a list of 3 numbers"),
    ("mean length 1", with_(mean=[0.5]), "mean must have 3 values"),
    ("mean NaN", with_(mean=[0.5, float("nan"), 0.5]), "mean must be finite"),
    ("mean text items", with_(mean=["a", "b", "c"]), "mean must hold numbers"),
    ("std zero", with_(std=[0.2, 0.0, 0.2]), "std must be positive"),
    ("std negative", with_(std=[-0.2, 0.2, 0.2]), "std must be positive"),
    ("std null", with_(std=None), "std must be a list of 3 numbers"),
    ("config string", with_(config="tiny"), "config must be a JSON object, got str"),
    ("config list", with_(config=[1, 2]), "config must be a JSON object, got list"),
    ("input size negative", with_config(input_size=-16), "config.input_size must be a positive"),
    ("input size zero", with_config(input_size=0), "config.input_size must be a positive"),
    ("input size text", with_config(input_size="112"), "config.input_size must be a positive"),
    ("num classes text", with_config(num_classes="5"), "config.num_classes must be a positive"),
    ("channels bad", with_config(block_channels="abc"), "block_channels must be a list"),
    ("config unknown", with_config(bogus=1), "unknown config fields ['bogus']"),
    ("class names ints", with_(class_names=[1, 2, 3, 4, 5]), "class_names must be non-empty"),
    ("class names string", with_(class_names="abcde"), "class_names must be a list"),
    ("class names dup", with_(class_names=["a", "a", "b", "c", "d"]), "distinct"),
    ("class names count", with_(class_names=["a", "b"]), "2 class names for a 5-class"),
    ("channel order", with_(channel_order="GBR"), "channel_order must be RGB or BGR"),
    ("precision", with_(precision="int4"), "precision must be one of"),
    ("training list", with_(training=[1]), "training must be a JSON object"),
    ("unknown field", with_(colour="blue"), "unknown fields ['colour']"),
]


@pytest.mark.parametrize(("case", "data", "phrase"), BAD, ids=[b[0] for b in BAD])
def test_bad_metadata_is_a_checkpoint_error(case, data, phrase):
    with pytest.raises(CheckpointError) as info:
        ModelMetadata.from_json(json.dumps(data))
    msg = str(info.value)
    assert phrase in msg
    assert "upgrade" not in msg, "only a larger schema integer means 'upgrade'"
    # from_dict gives the same error for the same object
    with pytest.raises(CheckpointError, match="invalid|schema|class names|channel_order"):
        ModelMetadata.from_dict(data)  # type: ignore[arg-type]


def test_only_a_larger_schema_integer_says_upgrade():
    with pytest.raises(CheckpointError, match="newer than this mmnet-edge.*upgrade"):
        ModelMetadata.from_dict(with_(schema=SCHEMA_VERSION + 1))


@pytest.mark.parametrize("text", ["{", "", "\x00\x01", "[1,"])
def test_unparseable_metadata_is_a_checkpoint_error(text):
    with pytest.raises(CheckpointError, match="not valid JSON"):
        ModelMetadata.from_json(text)


def test_direct_construction_is_validated_too():
    with pytest.raises(CheckpointError, match="std must be positive"):
        ModelMetadata(config=create_config("tiny"), std=(0.0, 0.0, 0.0))
    with pytest.raises(CheckpointError, match="mean must have 3 values"):
        ModelMetadata(config=create_config("tiny"), mean=(0.5,))  # type: ignore[arg-type]


def test_good_metadata_round_trips():
    meta = ModelMetadata.from_json(json.dumps(good()))
    assert meta == ModelMetadata(config=create_config("tiny"))
