"""Checkpoints: safetensors weights + :class:`ModelMetadata` JSON in the header.

No pickle anywhere. Loading validates the file, the metadata and every tensor name and
shape, and raises :class:`~mmnet_edge.errors.CheckpointError` naming the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from mmnet_edge.errors import CheckpointError
from mmnet_edge.metadata import METADATA_KEY, ModelMetadata
from mmnet_edge.model.mmnet import MMNet

PathLike = str | os.PathLike[str]


def file_sha256(path: PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode), its metadata and file hash."""

    model: MMNet
    metadata: ModelMetadata
    path: Path
    sha256: str


def save_checkpoint(model: MMNet, metadata: ModelMetadata, path: PathLike) -> Path:
    """Write ``model``'s weights and ``metadata`` to a ``.safetensors`` file (atomically)."""
    if metadata.config != model.config:
        raise CheckpointError("metadata.config differs from the model's config; they must match")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file(tensors, str(tmp), metadata={METADATA_KEY: metadata.to_json(), "format": "pt"})
    os.replace(tmp, path)
    return path


def read_metadata(path: PathLike) -> ModelMetadata:
    """Read only the metadata of a checkpoint (fast: no tensors are loaded)."""
    return _read_header(Path(path))


def _read_header(path: Path) -> ModelMetadata:
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as fh:
            header = fh.metadata() or {}
    except Exception as exc:  # noqa: BLE001 - safetensors raises SafetensorError / OSError
        raise CheckpointError(
            f"{path} is not a readable safetensors file ({exc}); it may be truncated or "
            "corrupt: re-copy it, or re-export it with mmnet-edge"
        ) from exc
    if METADATA_KEY not in header:
        raise CheckpointError(
            f"{path} has no mmnet-edge metadata: weights from the authors' code must be "
            "converted first with `mmnet-edge convert-weights IN.pth OUT.safetensors`"
        )
    return ModelMetadata.from_json(header[METADATA_KEY])


def load_checkpoint(path: PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load and validate a checkpoint; returns the model in eval mode."""
    path = Path(path)
    meta = _read_header(path)
    try:
        with safe_open(str(path), framework="pt", device=str(map_location)) as fh:
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(
            f"{path}: tensor data cannot be read ({exc}); the file is truncated or corrupt"
        ) from exc
    model = MMNet(meta.config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"{path} does not match its config: {len(missing)} missing tensor(s) "
            f"{missing[:5]}, {len(extra)} unexpected tensor(s) {extra[:5]}"
        )
    bad = [
        f"{k}: file {tuple(tensors[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if tuple(tensors[k].shape) != tuple(v.shape)
    ]
    if bad:
        raise CheckpointError(f"{path}: tensor shapes do not match the config: {bad[:5]}")
    for k, v in tensors.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise CheckpointError(
                f"{path}: tensor {k} holds NaN/Inf values; the weights are broken"
            )
    model.load_state_dict(tensors, strict=True)
    model.to(map_location).eval()
    return Checkpoint(model, meta, path, file_sha256(path))


def describe_checkpoint(path: PathLike) -> dict[str, object]:
    """Summary for ``mmnet-edge info``."""
    ckpt = load_checkpoint(path)
    n_params = sum(p.numel() for p in ckpt.model.parameters())
    d = ckpt.metadata.to_dict()
    return {
        "kind": "checkpoint",
        "path": str(ckpt.path),
        "sha256": ckpt.sha256,
        "size_bytes": ckpt.path.stat().st_size,
        "parameters": n_params,
        **{
            k: d[k]
            for k in (
                "class_names",
                "input_size",
                "mean",
                "std",
                "channel_order",
                "precision",
                "mmnet_edge_version",
                "training",
                "config",
            )
        },
    }


def dumps_pretty(obj: object) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str)
