"""MMNet: muscle-motion-guided network (Li et al., IJCAI 2022)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mmnet_edge.model.ca_block import CABlock
from mmnet_edge.model.config import MMNetConfig
from mmnet_edge.model.pc_module import PositionCalibration


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


@dataclass
class MMNetFeatures:
    """Intermediate results of :meth:`MMNet.forward_features` (for tests and analysis)."""

    fused: torch.Tensor  # N×C×g×g, main branch + PC module
    motion_features: torch.Tensor  # CA4 output
    position: torch.Tensor  # PC module output
    attention: list[torch.Tensor]  # combined (multiplied) map per CA block
    own_attention: list[torch.Tensor]  # each block's own spatial attention


class MMNet(nn.Module):
    """``forward(onset, apex) -> logits`` on normalised N×3×H×W frames.

    Main branch: motion image ``apex − onset`` → stem → conv1 → 4 CA blocks whose
    spatial attention maps are multiplied block to block. PC module: ViT on the onset
    resized to the fusion grid, added to CA4's output. Head: flatten → linear.
    """

    def __init__(self, config: MMNetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or MMNetConfig()
        self.stem = ConvBNReLU(cfg.in_chans, cfg.stem_channels, stride=2)
        self.conv1 = ConvBNReLU(cfg.stem_channels, cfg.conv1_channels, stride=1)
        blocks = []
        cin = cfg.conv1_channels
        for cout, stride in zip(cfg.block_channels, cfg.block_strides):
            blocks.append(CABlock(cin, cout, stride))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.pc = PositionCalibration(
            grid=cfg.grid_size,
            dim=cfg.embed_dim,
            depth=cfg.pc_depth,
            heads=cfg.pc_heads,
            mlp_ratio=cfg.pc_mlp_ratio,
            qkv_bias=cfg.pc_qkv_bias,
            drop_path=cfg.pc_drop_path,
            eps=cfg.ln_eps,
            in_chans=cfg.in_chans,
        )
        self.head = nn.Linear(cfg.embed_dim * cfg.grid_size**2, cfg.num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Authors' init: Kaiming fan-out for convs, trunc-normal(0.02) for the ViT."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.pc.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.pc.pos_embed, std=0.02)

    def forward_features(self, onset: torch.Tensor, apex: torch.Tensor) -> MMNetFeatures:
        """Main branch on ``apex − onset`` plus the PC module on ``onset``, before the head."""
        x = self.conv1(self.stem(apex - onset))
        prev: torch.Tensor | None = None
        combined, own = [], []
        for block in self.blocks:
            x, prev, own_map = block(x, prev)
            combined.append(prev)
            own.append(own_map)
        position = self.pc(onset)
        return MMNetFeatures(x + position, x, position, combined, own)

    def forward_head(self, features: MMNetFeatures | torch.Tensor) -> torch.Tensor:
        """Logits from the fused N×C×g×g map (or the :class:`MMNetFeatures` holding it)."""
        fused = features.fused if isinstance(features, MMNetFeatures) else features
        return self.head(torch.flatten(fused, 1))

    def forward(self, onset: torch.Tensor, apex: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(onset, apex))


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (buffers excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
