"""Position-calibration (PC) module: a small ViT on the down-sized onset frame."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DropPath(nn.Module):
    """Stochastic depth per sample (identity at inference or with ``p=0``)."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class Attention(nn.Module):
    """Multi-head self-attention written with plain matmul/softmax (exports cleanly)."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * self.scale, dim=-1)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU, as the authors


class TransformerBlock(nn.Module):
    """timm-style pre-norm block: ``x + attn(LN1(x))``, ``x + mlp(LN2(x))``."""

    def __init__(
        self, dim: int, heads: int, mlp_ratio: float, qkv_bias: bool, eps: float, drop_path: float
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PositionCalibration(nn.Module):
    """ViT over the onset frame resized to ``grid×grid``; returns ``N×dim×grid×grid``."""

    def __init__(
        self,
        grid: int,
        dim: int,
        depth: int,
        heads: int,
        mlp_ratio: float,
        qkv_bias: bool = True,
        drop_path: float = 0.0,
        eps: float = 1e-6,
        in_chans: int = 3,
    ) -> None:
        super().__init__()
        self.grid = grid
        self.patch_embed = nn.Conv2d(in_chans, dim, kernel_size=1)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid, dim))
        rates = [drop_path * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.ModuleList(
            TransformerBlock(dim, heads, mlp_ratio, qkv_bias, eps, r) for r in rates
        )
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, onset: torch.Tensor) -> torch.Tensor:
        # Pinned: bilinear, align_corners=False, *no* antialiasing (the 2022 tensor path).
        small = F.interpolate(
            onset,
            size=(self.grid, self.grid),
            mode="bilinear",
            align_corners=False,
            antialias=False,
        )
        x = self.patch_embed(small).flatten(2).transpose(1, 2) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        b, n, c = x.shape
        return x.transpose(1, 2).reshape(b, c, self.grid, self.grid)
