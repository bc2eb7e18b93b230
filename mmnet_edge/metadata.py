"""``ModelMetadata``: the one record every mmnet-edge artefact carries.

Stored in the safetensors header, in ONNX ``metadata_props`` and in a TensorRT
engine's ``.engine.json`` sidecar. Runtimes read preprocessing and class names from
it, never from the caller.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from mmnet_edge._version import __version__
from mmnet_edge.errors import CheckpointError
from mmnet_edge.model.config import MMNetConfig

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CASME2_CLASSES = ("happiness", "disgust", "repression", "surprise", "others")
METADATA_KEY = "mmnet_edge"
SCHEMA_VERSION = 1


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
        self.class_names = tuple(self.class_names)
        self.mean = tuple(float(v) for v in self.mean)  # type: ignore[assignment]
        self.std = tuple(float(v) for v in self.std)  # type: ignore[assignment]
        if len(self.class_names) != self.config.num_classes:
            raise CheckpointError(
                f"{len(self.class_names)} class names for a {self.config.num_classes}-class "
                "model: give exactly one name per output"
            )
        if self.channel_order not in ("RGB", "BGR"):
            raise CheckpointError(f"channel_order must be RGB or BGR, not {self.channel_order!r}")

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
        data = dict(data)
        data.pop("input_size", None)
        if int(data.get("schema", SCHEMA_VERSION)) > SCHEMA_VERSION:
            raise CheckpointError(
                f"metadata schema {data['schema']} is newer than this mmnet-edge understands "
                f"({SCHEMA_VERSION}): upgrade mmnet-edge"
            )
        try:
            data["config"] = MMNetConfig.from_dict(data.get("config", {}))
            return cls(**data)
        except TypeError as exc:
            raise CheckpointError(f"invalid mmnet-edge metadata: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"mmnet-edge metadata is not valid JSON: {exc}") from exc


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
