"""MMNet configuration: one dataclass of architecture hyper-parameters (torch-free)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from mmnet_edge.errors import ConfigError


@dataclass(frozen=True)
class MMNetConfig:
    """Architecture hyper-parameters of MMNet.

    The defaults are the paper's 5-class model (224×224 input, 9,438,841 parameters).
    The fusion grid (PC module token grid) is ``input_size / 16``: the stem and three
    stride-2 CA blocks divide the resolution by 16.
    """

    num_classes: int = 5
    input_size: int = 224
    in_chans: int = 3
    stem_channels: int = 180
    conv1_channels: int = 128
    block_channels: tuple[int, int, int, int] = (128, 128, 256, 512)
    block_strides: tuple[int, int, int, int] = (1, 2, 2, 2)
    pc_depth: int = 2
    pc_heads: int = 4
    pc_mlp_ratio: float = 4.0
    pc_qkv_bias: bool = True
    pc_drop_path: float = 0.0
    ln_eps: float = 1e-6
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "block_channels", tuple(int(c) for c in self.block_channels))
        object.__setattr__(self, "block_strides", tuple(int(s) for s in self.block_strides))
        self.validate()

    # --------------------------------------------------------------- properties
    @property
    def embed_dim(self) -> int:
        """Channels of the last CA block = PC module token width."""
        return self.block_channels[-1]

    @property
    def grid_size(self) -> int:
        """Side of the fusion grid (14 for 224 input)."""
        total = 2  # stem stride
        for s in self.block_strides:
            total *= s
        return self.input_size // total

    # --------------------------------------------------------------- validation
    def validate(self) -> None:
        """Raise :class:`ConfigError` if the hyper-parameters cannot build a model."""
        if self.num_classes < 2:
            raise ConfigError(f"num_classes must be ≥ 2, got {self.num_classes}")
        if len(self.block_channels) != 4 or len(self.block_strides) != 4:
            raise ConfigError("MMNet has exactly four CA blocks: give 4 channels and 4 strides")
        total = 2
        for s in self.block_strides:
            if s not in (1, 2):
                raise ConfigError(f"CA block strides must be 1 or 2, got {self.block_strides}")
            total *= s
        if self.input_size % total:
            raise ConfigError(
                f"input_size {self.input_size} is not divisible by the network stride {total}"
            )
        if self.embed_dim % self.pc_heads:
            raise ConfigError(
                f"last block width {self.embed_dim} is not divisible by pc_heads={self.pc_heads}"
            )
        if self.pc_depth < 1:
            raise ConfigError("pc_depth must be ≥ 1")

    # ---------------------------------------------------------------- (de)serial
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["block_channels"] = list(self.block_channels)
        d["block_strides"] = list(self.block_strides)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MMNetConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(
                f"unknown MMNetConfig fields {sorted(unknown)}: the file was written by a "
                "newer mmnet-edge; upgrade mmnet-edge to read it"
            )
        try:
            return cls(**data)
        except TypeError as exc:  # pragma: no cover - defensive
            raise ConfigError(f"invalid MMNetConfig: {exc}") from exc
