"""``read_metadata(any artefact)`` and ``describe(any artefact)`` — no torch, no onnx needed."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from mmnet_edge.artifacts.formats import container_of, format_of
from mmnet_edge.artifacts.manifests import read_engine_manifest
from mmnet_edge.artifacts.onnx_props import read_onnx_header
from mmnet_edge.errors import CheckpointError
from mmnet_edge.metadata import METADATA_KEY, ModelMetadata, metadata_from_props

PathLike = str | os.PathLike[str]


def file_sha256(path: PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def safetensors_header(path: PathLike) -> tuple[dict[str, str], dict[str, list[int]]]:
    """(string metadata, tensor name → shape) of a safetensors file, without loading tensors."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
            shapes = {k: list(fh.get_slice(k).get_shape()) for k in fh.keys()}
    except Exception as exc:  # noqa: BLE001 - safetensors raises SafetensorError / OSError
        raise CheckpointError(
            f"{path} is not a readable safetensors file ({exc}); it may be truncated or "
            "corrupt: re-copy it, or re-export it with mmnet-edge"
        ) from exc
    return meta, shapes


def read_checkpoint_metadata(path: PathLike) -> ModelMetadata:
    """The metadata in a checkpoint's safetensors header (fast: no tensors are loaded)."""
    header, _ = safetensors_header(path)
    if METADATA_KEY not in header:
        raise CheckpointError(
            f"{path} has no mmnet-edge metadata: weights from the authors' code must be "
            "converted first with `mmnet-edge convert-weights IN.pth OUT.safetensors`"
        )
    return ModelMetadata.from_json(header[METADATA_KEY])


def read_onnx_metadata(path: PathLike) -> ModelMetadata:
    """The :class:`ModelMetadata` stored in an ONNX file's ``metadata_props``."""
    return metadata_from_props(read_onnx_header(path).props, str(path))


def read_engine_metadata(path: PathLike) -> ModelMetadata:
    """The metadata recorded in an engine's ``.engine.json`` sidecar."""
    return ModelMetadata.from_dict(read_engine_manifest(path).metadata)


def read_metadata(path: PathLike) -> ModelMetadata:
    """:class:`ModelMetadata` of any artefact: checkpoint, ONNX (any variant) or engine."""
    container = container_of(path)
    if not Path(path).is_file():
        raise CheckpointError(f"model file not found: {path}")
    if container == "checkpoint":
        return read_checkpoint_metadata(path)
    if container == "onnx":
        return read_onnx_metadata(path)
    return read_engine_metadata(path)


_META_KEYS = (
    "class_names",
    "input_size",
    "mean",
    "std",
    "channel_order",
    "precision",
    "source_checkpoint_sha256",
    "mmnet_edge_version",
    "training",
    "config",
    "extra",
)


def describe(path: PathLike) -> dict[str, Any]:
    """What a model file holds, for ``mmnet-edge info`` (any artefact; torch-free)."""
    path = Path(path)
    container = container_of(path)
    if not path.is_file():
        raise CheckpointError(f"model file not found: {path}")
    fmt = format_of(path)
    out: dict[str, Any] = {
        "kind": container,
        "format": fmt.name,
        "format_description": fmt.description,
        "path": str(path),
        "size_bytes": path.stat().st_size,
        "sha256": file_sha256(path),
    }
    if container == "checkpoint":
        header, shapes = safetensors_header(path)
        meta = read_checkpoint_metadata(path)
        out["tensors"] = len(shapes)
        out["parameters"] = int(sum(_numel(s) for k, s in shapes.items() if _is_param(k)))
    elif container == "onnx":
        h = read_onnx_header(path)
        meta = metadata_from_props(h.props, str(path))
        out.update(opset=h.opset, inputs=h.inputs, outputs=h.outputs, ops=h.ops)
    else:
        m = read_engine_manifest(path)
        meta = ModelMetadata.from_dict(m.metadata)
        out["sha256_matches_sidecar"] = out["sha256"] == m.engine_sha256
        for k in (
            "tensorrt_version",
            "gpu",
            "jetson",
            "profile",
            "dla_core",
            "strongly_typed",
            "version_compatible",
            "hardware_compatibility",
            "onnx_sha256",
            "built_at",
        ):
            out[k] = m.get(k)
    d = meta.to_dict()
    out.update({k: d[k] for k in _META_KEYS if k in d})
    if container == "engine":
        out["precision"] = m.precision  # what the engine was built for
    return out


def _numel(shape: list[int]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def _is_param(name: str) -> bool:
    """Learnable tensors only (BatchNorm buffers are not parameters)."""
    return not name.endswith(("running_mean", "running_var", "num_batches_tracked"))
