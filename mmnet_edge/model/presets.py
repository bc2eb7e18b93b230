"""Built-in model presets: the authors' 5- and 3-class configurations and a CPU-sized one."""

from __future__ import annotations

from mmnet_edge.errors import ConfigError
from mmnet_edge.model.config import MMNetConfig
from mmnet_edge.model.registry import register_model


@register_model("paper")
def paper(num_classes: int | None = None) -> MMNetConfig:
    """The authors' 5-class model: 224 px, 14×14 fusion grid, 9,438,841 parameters."""
    return MMNetConfig(num_classes=num_classes or 5)


@register_model("paper-3class")
def paper_3class(num_classes: int | None = None) -> MMNetConfig:
    """The authors' 3-class (MEGC composite) script: PC depth 3, MLP ratio 2, drop-path 0.3."""
    if num_classes not in (None, 3):
        raise ConfigError("preset 'paper-3class' has 3 classes; use 'paper' for others")
    return MMNetConfig(num_classes=3, pc_depth=3, pc_mlp_ratio=2.0, pc_drop_path=0.3)


@register_model("tiny")
def tiny(num_classes: int | None = None) -> MMNetConfig:
    """Same architecture at 112 px (7×7 fusion grid) with narrow widths, for CPU."""
    return MMNetConfig(
        num_classes=num_classes or 5,
        input_size=112,
        stem_channels=24,
        conv1_channels=24,
        block_channels=(24, 32, 48, 64),
        pc_heads=4,
    )


__all__ = ["paper", "paper_3class", "tiny"]
