"""Load weights trained with the authors' MMNet code (their state-dict names → ours)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from mmnet_edge.errors import CheckpointError
from mmnet_edge.model.config import MMNetConfig
from mmnet_edge.model.mmnet import MMNet

log = logging.getLogger(__name__)

# (authors' pattern, our template). Ordered; first match wins.
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^conv_act\.0\.(.+)$"), r"stem.0.\1"),
    (re.compile(r"^conv_act\.1\.(.+)$"), r"stem.1.\1"),
    (re.compile(r"^main_branch\.conv1\.(.+)$"), r"conv1.0.\1"),
    (re.compile(r"^main_branch\.bn1\.(.+)$"), r"conv1.1.\1"),
    (re.compile(r"^main_branch\.fc\.(.+)$"), r"head.\1"),
    (re.compile(r"^main_branch\.layer([1-4])\.0\.attn\.0\.(.+)$"), r"blocks.{L}.attention.conv.\2"),
    (re.compile(r"^main_branch\.layer([1-4])\.0\.attn\.1\.(.+)$"), r"blocks.{L}.attention.bn.\2"),
    (
        re.compile(r"^main_branch\.layer([1-4])\.0\.downsample\.([01])\.(.+)$"),
        r"blocks.{L}.shortcut.\2.\3",
    ),
    (re.compile(r"^main_branch\.layer([1-4])\.0\.((?:conv|bn)[12])\.(.+)$"), r"blocks.{L}.\2.\3"),
    (re.compile(r"^vit_pos\.pos_embed$"), r"pc.pos_embed"),
    (re.compile(r"^vit_pos\.patch_embed\.proj\.(.+)$"), r"pc.patch_embed.\1"),
    (re.compile(r"^vit_pos\.blocks\.(\d+)\.(.+)$"), r"pc.blocks.\1.\2"),
    (re.compile(r"^vit_pos\.norm\.(.+)$"), r"pc.norm.\1"),
]

# Registered by the authors' module but never used in its forward pass.
UNUSED_REFERENCE_PREFIXES: tuple[str, ...] = (
    "timeembed",
    "pos.",
    "head.",
    "vit_pos.cls_token",
    "vit_pos.head.",
    "vit_pos.to_Mask.",
)


def map_reference_name(name: str) -> str | None:
    """Our parameter name for one of the authors' tensor names (``None``: not a model tensor)."""
    for pattern, template in _RULES:
        m = pattern.match(name)
        if m:
            if "{L}" in template:
                template = template.replace("{L}", str(int(m.group(1)) - 1))
            return m.expand(template)
    return None


@dataclass
class ReferenceConversion:
    """Result of :func:`convert_reference_state_dict`."""

    state_dict: dict[str, torch.Tensor]
    config: MMNetConfig
    dropped: list[str] = field(default_factory=list)


def _strip_wrappers(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Accept ``{"state_dict": ...}`` / ``{"model": ...}`` envelopes and ``module.`` prefixes."""
    for key in ("state_dict", "model", "model_state_dict"):
        if key in sd and isinstance(sd[key], Mapping):
            sd = sd[key]  # type: ignore[assignment]
    out: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            raise CheckpointError(
                f"entry {k!r} is a {type(v).__name__}, not a tensor: pass the authors' "
                "model state dict (torch.save(model.state_dict(), ...))"
            )
        out[k[7:] if k.startswith("module.") else k] = v
    return out


def infer_reference_config(sd: Mapping[str, torch.Tensor]) -> MMNetConfig:
    """Read the architecture (classes, widths, ViT depth/MLP) off the authors' tensors."""
    try:
        fc = sd["main_branch.fc.weight"]
        depth = len({k.split(".")[2] for k in sd if k.startswith("vit_pos.blocks.")})
        dim = sd["vit_pos.pos_embed"].shape[-1]
        hidden = sd["vit_pos.blocks.0.mlp.fc1.weight"].shape[0]
        grid = int(round(sd["vit_pos.pos_embed"].shape[1] ** 0.5))
        widths = tuple(sd[f"main_branch.layer{i}.0.conv1.weight"].shape[0] for i in range(1, 5))
        return MMNetConfig(
            num_classes=int(fc.shape[0]),
            input_size=grid * 16,
            stem_channels=int(sd["conv_act.0.weight"].shape[0]),
            conv1_channels=int(sd["main_branch.conv1.weight"].shape[0]),
            block_channels=widths,  # type: ignore[arg-type]
            pc_depth=depth,
            pc_mlp_ratio=hidden / dim,
        )
    except KeyError as exc:
        raise CheckpointError(
            f"not an MMNet state dict from the authors' code: tensor {exc.args[0]!r} is missing"
        ) from exc


def convert_reference_state_dict(
    sd: Mapping[str, torch.Tensor], config: MMNetConfig | None = None
) -> ReferenceConversion:
    """Rename the authors' tensors to ours, dropping their unused ones (logged)."""
    sd = _strip_wrappers(sd)
    cfg = config or infer_reference_config(sd)
    expected = MMNet(cfg).state_dict()
    out: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    unknown: list[str] = []
    for name, tensor in sd.items():
        ours = map_reference_name(name)
        if ours is None:
            if name.startswith(UNUSED_REFERENCE_PREFIXES):
                dropped.append(name)
                continue
            unknown.append(name)
            continue
        if ours in out:
            raise CheckpointError(f"two reference tensors map to {ours!r} (second: {name!r})")
        if ours not in expected:
            unknown.append(name)
            continue
        if tuple(expected[ours].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"reference tensor {name!r} has shape {tuple(tensor.shape)}, the model expects "
                f"{tuple(expected[ours].shape)} for {ours!r}: check num_classes / config"
            )
        out[ours] = tensor.detach().clone()
    if unknown:
        raise CheckpointError(
            f"{len(unknown)} tensor(s) are not part of MMNet, e.g. {unknown[:3]}: is this the "
            "authors' MMNet state dict?"
        )
    missing = sorted(set(expected) - set(out))
    if missing:
        raise CheckpointError(
            f"{len(missing)} model tensor(s) missing from the reference weights, e.g. {missing[:3]}"
        )
    if dropped:
        log.info("dropped %d unused reference tensors: %s", len(dropped), ", ".join(dropped))
    return ReferenceConversion(out, cfg, dropped)


def from_reference_state_dict(
    sd: Mapping[str, torch.Tensor], config: MMNetConfig | None = None
) -> MMNet:
    """Build an :class:`MMNet` (eval mode) from weights trained with the authors' script."""
    conv = convert_reference_state_dict(sd, config)
    model = MMNet(conv.config)
    model.load_state_dict(conv.state_dict, strict=True)
    return model.eval()


def load_reference_file(path: str) -> dict[str, torch.Tensor]:
    """Load an authors' ``.pth`` with ``torch.load(weights_only=True)`` — never full pickle."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(f"weight file not found: {path}") from exc
    except Exception as exc:  # noqa: BLE001 - torch raises many types for bad files
        raise CheckpointError(
            f"{path} cannot be loaded safely ({type(exc).__name__}: {str(exc)[:200]}). Only plain "
            "tensor state dicts are accepted (torch.load weights_only=True); re-save it with "
            "torch.save(model.state_dict(), path) in the authors' environment"
        ) from exc
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a state dict")
    return dict(obj)
