"""Continuous-attention (CA) block of MMNet's main (motion) branch."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SpatialAttention(nn.Module):
    """``sigmoid(BN(conv1x1([mean_c(y), max_c(y)])))`` → one map per sample (N×1×H×W)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size=1, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([y.mean(dim=1, keepdim=True), y.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.bn(self.conv(pooled)))


def carry_attention(prev: torch.Tensor, stride: int) -> torch.Tensor:
    """Bring the previous block's map to this block's resolution (max-pool k3 s2 p1)."""
    if stride == 1:
        return prev
    return F.max_pool2d(prev, kernel_size=3, stride=2, padding=1)


class CABlock(nn.Module):
    """Residual block whose spatial attention is multiplied with the previous block's.

    ``y = ReLU(BN2(conv1x1(ReLU(BN1(conv3x3_s(x))))) + shortcut(x))``;
    ``a = SA(y) · maxpool(prev)`` (just ``SA(y)`` for the first block); output ``y · a``.
    The combined map ``a`` is returned so the next block can continue the product.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = nn.Identity()
        self.attention = SpatialAttention()

    def forward(
        self, x: torch.Tensor, prev: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(output, combined_attention, own_attention)``."""
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        y = F.relu(y + self.shortcut(x))
        own = self.attention(y)
        combined = own if prev is None else own * carry_attention(prev, self.stride)
        return y * combined, combined, own
