"""``ModelMetadata``: the one record every mmnet-edge artefact carries.

Stored in the safetensors header, in ONNX ``metadata_props`` and in a TensorRT
engine's ``.engine.json`` sidecar. Runtimes read preprocessing and class names from
it, never from the caller.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from mmnet_edge._version import __version__
from mmnet_edge.errors import CheckpointError, ConfigError
from mmnet_edge.model.config import MMNetConfig

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CASME2_CLASSES = ("happiness", "disgust", "repression", "surprise", "others")
METADATA_KEY = "mmnet_edge"
SCHEMA_VERSION = 1
PRECISION_NAMES = ("fp32", "fp16", "int8")
_FIX = "re-export the model (or rewrite the metadata) with this mmnet-edge"
# MMNetConfig fields that must be positive integers (a zero/negative size builds no model)
_POSITIVE_INT_CONFIG = ("num_classes", "input_size", "in_chans", "stem_channels")


def _bad(what: str) -> CheckpointError:
    return CheckpointError(f"invalid mmnet-edge metadata: {what}; {_FIX}")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _triple(name: str, value: Any) -> tuple[float, float, float]:
    """Three finite numbers (one per channel), else a precise CheckpointError."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise _bad(f"{name} must be a list of 3 numbers (one per channel), got {value!r}")
    if len(value) != 3:
        raise _bad(f"{name} must have 3 values (one per channel), got {len(value)}: {value!r}")
    if not all(_is_number(v) for v in value):
        raise _bad(f"{name} must hold numbers, got {list(value)!r}")
    out = tuple(float(v) for v in value)
    if not all(math.isfinite(v) for v in out):
        raise _bad(f"{name} must be finite, got {list(out)}")
    return out  # type: ignore[return-value]


def check_config_dict(data: Any) -> dict[str, Any]:
    """Type-check a serialised :class:`MMNetConfig` before building it."""
    if not isinstance(data, dict):
        raise _bad(f"config must be a JSON object, got {_type_name(data)} {data!r}")
    known = {f.name for f in fields(MMNetConfig)}
    for key in _POSITIVE_INT_CONFIG:
        if key in data:
            v = data[key]
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise _bad(f"config.{key} must be a positive integer, got {v!r}")
    for key in ("block_channels", "block_strides"):
        if key in data:
            v = data[key]
            ok = isinstance(v, list | tuple) and all(
                isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in v
            )
            if not ok:
                raise _bad(f"config.{key} must be a list of positive integers, got {v!r}")
    for key in ("pc_depth", "pc_heads"):
        if key in data and (not isinstance(data[key], int) or isinstance(data[key], bool)):
            raise _bad(f"config.{key} must be an integer, got {data[key]!r}")
    for key in ("pc_mlp_ratio", "pc_drop_path", "ln_eps"):
        if key in data and not _is_number(data[key]):
            raise _bad(f"config.{key} must be a number, got {data[key]!r}")
    unknown = sorted(set(data) - known)
    if unknown:
        raise _bad(f"unknown config fields {unknown}")
    return data


@dataclass
class ModelMetadata:
    """What a model file needs to be used correctly without outside knowledge."""

    config: MMNetConfig = field(default_factory=MMNetConfig)
    class_names: tuple[str, ...] = CASME2_CLASSES
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    channel_order: str = "RGB"
    precision: str = "fp32"
    source_checkpoint_sha256: str | None = None
    mmnet_edge_version: str = __version__
    training: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        """Validate every field: a wrong type or value is a :class:`CheckpointError`."""
        if not isinstance(self.config, MMNetConfig):
            raise _bad(f"config must be an MMNetConfig, got {_type_name(self.config)}")
        names = self.class_names
        if isinstance(names, (str, bytes)) or not isinstance(names, list | tuple):
            raise _bad(f"class_names must be a list of strings, got {names!r}")
        if not all(isinstance(n, str) and n.strip() for n in names):
            raise _bad(f"class_names must be non-empty strings, got {list(names)!r}")
        if len(set(names)) != len(names):
            raise _bad(f"class_names must be distinct, got {list(names)!r}")
        self.class_names = tuple(names)
        self.mean = _triple("mean", self.mean)
        self.std = _triple("std", self.std)
        if not all(v > 0 for v in self.std):
            raise _bad(f"std must be positive (it divides every pixel), got {list(self.std)}")
        if len(self.class_names) != self.config.num_classes:
            raise CheckpointError(
                f"{len(self.class_names)} class names for a {self.config.num_classes}-class "
                "model: give exactly one name per output"
            )
        if self.channel_order not in ("RGB", "BGR"):
            raise CheckpointError(f"channel_order must be RGB or BGR, not {self.channel_order!r}")
        if self.precision not in PRECISION_NAMES:
            raise _bad(f"precision must be one of {PRECISION_NAMES}, got {self.precision!r}")
        sha = self.source_checkpoint_sha256
        if sha is not None and not isinstance(sha, str):
            raise _bad(f"source_checkpoint_sha256 must be a string or null, got {sha!r}")
        if not isinstance(self.mmnet_edge_version, str):
            raise _bad(f"mmnet_edge_version must be a string, got {self.mmnet_edge_version!r}")
        for name in ("training", "extra"):
            if not isinstance(getattr(self, name), dict):
                raise _bad(f"{name} must be a JSON object, got {getattr(self, name)!r}")

    @property
    def input_size(self) -> int:
        return self.config.input_size

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["config"] = self.config.to_dict()
        d["class_names"] = list(self.class_names)
        d["mean"] = list(self.mean)
        d["std"] = list(self.std)
        d["input_size"] = self.input_size
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMetadata:
        """Validate and build; any wrong type or value is a :class:`CheckpointError`."""
        if not isinstance(data, dict):
            raise _bad(f"expected a JSON object, got {_type_name(data)}")
        data = dict(data)
        schema = data.get("schema", SCHEMA_VERSION)
        if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
            raise _bad(f"schema must be a positive integer, got {schema!r}")
        if schema > SCHEMA_VERSION:
            raise CheckpointError(
                f"metadata schema {schema} is newer than this mmnet-edge understands "
                f"({SCHEMA_VERSION}): upgrade mmnet-edge"
            )
        data.pop("input_size", None)  # derived from config (written for readers' convenience)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise _bad(f"unknown fields {unknown}")
        try:
            data["config"] = MMNetConfig.from_dict(check_config_dict(data.get("config", {})))
        except ConfigError as exc:
            raise _bad(f"config: {exc}") from exc
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        if not isinstance(text, str | bytes):
            raise _bad(f"expected JSON text, got {_type_name(text)}")
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CheckpointError(
                f"mmnet-edge metadata is not valid JSON ({exc}); the file is corrupt: {_FIX}"
            ) from exc
        return cls.from_dict(data)


def metadata_to_props(meta: ModelMetadata) -> dict[str, str]:
    """Key/value strings for ONNX ``metadata_props`` (and other string-only stores)."""
    return {
        METADATA_KEY: meta.to_json(),
        "class_names": ",".join(meta.class_names),
        "input_size": str(meta.input_size),
        "mean": ",".join(f"{v:g}" for v in meta.mean),
        "std": ",".join(f"{v:g}" for v in meta.std),
        "precision": meta.precision,
        "mmnet_edge_version": meta.mmnet_edge_version,
    }


def metadata_from_props(props: dict[str, str], source: str = "model") -> ModelMetadata:
    """Inverse of :func:`metadata_to_props`; raises ``CheckpointError`` if absent."""
    if METADATA_KEY not in props:
        raise CheckpointError(
            f"{source} carries no mmnet-edge metadata: export it with `mmnet-edge export` so "
            "class names and preprocessing travel with the model"
        )
    return ModelMetadata.from_json(props[METADATA_KEY])
