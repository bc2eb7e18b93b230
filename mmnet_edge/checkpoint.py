"""Checkpoints: safetensors weights + :class:`ModelMetadata` JSON in the header.

No pickle anywhere. Loading validates the file, the metadata and every tensor name and
shape, and raises :class:`~mmnet_edge.errors.CheckpointError` naming the problem.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from mmnet_edge.artifacts.files import atomic_path
from mmnet_edge.artifacts.metadata_io import describe, file_sha256, read_checkpoint_metadata
from mmnet_edge.errors import CheckpointError
from mmnet_edge.metadata import METADATA_KEY, ModelMetadata
from mmnet_edge.model.mmnet import MMNet

PathLike = str | os.PathLike[str]


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
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    header = {METADATA_KEY: metadata.to_json(), "format": "pt"}
    with atomic_path(path) as tmp:
        try:
            save_file(tensors, str(tmp), metadata=header)
        except SafetensorError as exc:  # its I/O errors are not OSError: make them one
            raise OSError(f"safetensors: {exc}") from exc
        canonical_header(tmp)
    return path


def canonical_header(path: PathLike) -> None:
    """Rewrite a safetensors file's JSON header with sorted keys, in place.

    safetensors writes its ``__metadata__`` map in hash order, which changes from process to
    process: the same weights and metadata gave files with different SHA-256s (and the bench
    cache, keyed by file hashes, treated them as different models). The sorted header has the
    same content and length; it is padded with spaces as safetensors pads it.
    """
    with open(path, "r+b") as fh:
        size = int.from_bytes(fh.read(8), "little")
        raw = fh.read(size)
        header = json.loads(raw)
        text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        data = text.encode("utf-8")
        if len(data) > size:  # cannot happen for one content; never grow the header
            return
        fh.seek(8)
        fh.write(data + b" " * (size - len(data)))


def read_metadata(path: PathLike) -> ModelMetadata:
    """Read only the metadata of a checkpoint (fast: no tensors are loaded; no torch)."""
    return read_checkpoint_metadata(path)


def load_checkpoint(path: PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load and validate a checkpoint; returns the model in eval mode."""
    path = Path(path)
    meta = read_checkpoint_metadata(path)
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


@dataclass
class ConvertedWeights:
    """What :func:`convert_reference_weights` wrote."""

    path: Path
    metadata: ModelMetadata
    dropped: list[str]


def convert_reference_weights(
    src: PathLike, dst: PathLike, class_names: Sequence[str] | None = None
) -> ConvertedWeights:
    """Convert an authors'-code MMNet state dict (``.pth``, read with
    ``weights_only=True``: pickled code is refused) to a checkpoint at ``dst`` (atomic).

    ``class_names``: one per output (default: CASME II's five for a 5-class model, else
    ``class0``, ``class1``…).
    """
    from mmnet_edge.metadata import CASME2_CLASSES
    from mmnet_edge.model import convert_reference_state_dict, load_reference_file

    src = Path(src)
    conv = convert_reference_state_dict(load_reference_file(str(src)))
    n = conv.config.num_classes
    if class_names:
        names = tuple(c.strip() for c in class_names)
    elif n == len(CASME2_CLASSES):
        names = CASME2_CLASSES
    else:
        names = tuple(f"class{i}" for i in range(n))
    model = MMNet(conv.config)
    model.load_state_dict(conv.state_dict, strict=True)
    meta = ModelMetadata(
        config=conv.config,
        class_names=names,
        source_checkpoint_sha256=file_sha256(src),
        training={"source": "authors' MMNet code", "converted_from": src.name},
    )
    return ConvertedWeights(save_checkpoint(model, meta, dst), meta, list(conv.dropped))


def describe_checkpoint(path: PathLike) -> dict[str, object]:
    """Summary for ``mmnet-edge info`` (see :func:`mmnet_edge.artifacts.describe`)."""
    return describe(path)


def dumps_pretty(obj: object) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str)
