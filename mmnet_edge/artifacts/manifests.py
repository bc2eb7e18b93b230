"""Typed manifests written next to artefacts, with their format version checked on read.

* :class:`EngineManifest` — the ``<engine>.json`` sidecar of a TensorRT engine
  (``mmnet-edge-engine/1``): how and where the engine was built, plus the model metadata.
* Calibration-set manifests (``mmnet-edge-calibration/1``): :func:`check_format` is used
  by :mod:`mmnet_edge.calibration.dataset` when it reads one.

A file of a *newer* format version says "upgrade mmnet-edge"; a file of an unknown format
or none says what it is expected to be and how to rebuild it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from mmnet_edge.errors import EngineCompatibilityError, MMNetEdgeError

ENGINE_FORMAT = "mmnet-edge-engine"
ENGINE_FORMAT_VERSION = 1
CALIBRATION_FORMAT = "mmnet-edge-calibration"
CALIBRATION_FORMAT_VERSION = 1


def check_format(
    value: Any,
    family: str,
    supported: int,
    source: str,
    error: type[MMNetEdgeError],
    rebuild: str,
) -> int:
    """Validate a ``"family/N"`` format string; returns N."""
    if not isinstance(value, str) or "/" not in value:
        raise error(f"{source}: no valid 'format' field (expected '{family}/N'); {rebuild}")
    name, _, version = value.partition("/")
    if name != family or not version.isdigit():
        raise error(f"{source}: format {value!r} is not a {family} file; {rebuild}")
    if int(version) > supported:
        raise error(
            f"{source}: format {value!r} is newer than this mmnet-edge reads ({family}/"
            f"{supported}); upgrade mmnet-edge"
        )
    return int(version)


def read_json(path: Path, error: type[MMNetEdgeError], rebuild: str) -> Any:
    """Parsed JSON of a manifest; ``error`` (saying ``rebuild``) if unreadable or not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path} is not valid JSON ({exc}); {rebuild}") from exc
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}; {rebuild}") from exc


def sidecar_path(engine: str | os.PathLike[str]) -> Path:
    """``model.fp16.engine`` → ``model.fp16.engine.json``."""
    engine = Path(engine)
    return engine.with_name(engine.name + ".json")


@dataclass
class EngineManifest:
    """The ``.engine.json`` sidecar (what ``mmnet-edge export`` records at build time)."""

    tensorrt_version: str
    precision: str
    metadata: dict[str, Any]
    profile: dict[str, int] = field(default_factory=lambda: {"min": 1, "opt": 1, "max": 1})
    strongly_typed: bool = False
    implicit_int8_calibrator: bool = False
    gpu: dict[str, Any] = field(default_factory=dict)
    jetson: dict[str, Any] = field(default_factory=dict)
    host: str = ""
    dla_core: int | None = None
    dla_layers: int | None = None
    hardware_compatibility: str | None = None
    version_compatible: bool = False
    onnx: str = ""
    onnx_sha256: str = ""
    engine_sha256: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    built_at: str = ""
    format: str = f"{ENGINE_FORMAT}/{ENGINE_FORMAT_VERSION}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def get(self, key: str, default: Any = None) -> Any:
        """Dict-style access, for code and tests that treat the sidecar as a mapping."""
        return getattr(self, key, default)

    def __getitem__(self, key: str) -> Any:
        if not hasattr(self, key):
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and hasattr(self, key)

    @property
    def max_batch(self) -> int:
        return int(self.profile.get("max", 1))

    @classmethod
    def from_dict(cls, data: Any, source: str = "engine sidecar") -> EngineManifest:
        rebuild = "rebuild the engine with `mmnet-edge export MODEL.onnx --format engine`"
        if not isinstance(data, dict):
            raise EngineCompatibilityError(f"{source}: not a JSON object; {rebuild}")
        check_format(
            data.get("format"),
            ENGINE_FORMAT,
            ENGINE_FORMAT_VERSION,
            source,
            EngineCompatibilityError,
            rebuild,
        )
        for key in ("tensorrt_version", "precision", "metadata"):
            if key not in data:
                raise EngineCompatibilityError(f"{source}: field {key!r} is missing; {rebuild}")
        if not isinstance(data["metadata"], dict):
            raise EngineCompatibilityError(f"{source}: 'metadata' is not an object; {rebuild}")
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:  # pragma: no cover - defensive
            raise EngineCompatibilityError(f"{source}: {exc}; {rebuild}") from exc

    def write(self, engine: str | os.PathLike[str]) -> Path:
        from mmnet_edge.artifacts.files import atomic_write_text

        path = sidecar_path(engine)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, sort_keys=True))
        return path


def read_engine_manifest(engine: str | os.PathLike[str]) -> EngineManifest:
    """The sidecar of ``engine``; EngineCompatibilityError if missing, corrupt or newer."""
    engine = Path(engine)
    side = sidecar_path(engine)
    if not side.is_file():
        raise EngineCompatibilityError(
            f"{engine}: sidecar {side.name} is missing; mmnet-edge needs it for class names and "
            "preprocessing. Rebuild with `mmnet-edge export`, or copy the .engine.json with it"
        )
    data = read_json(side, EngineCompatibilityError, "rebuild the engine with `mmnet-edge export`")
    return EngineManifest.from_dict(data, str(side))
