"""Model cost for roofline context: GFLOPs per sample (multiply-add = 2 FLOPs).

Counted with :class:`torch.utils.flop_counter.FlopCounterMode` on one onset/apex pair:
convolutions, linear layers and attention matmuls. The paper configuration gives
14.42 GFLOPs (convolutions 11.80, PC-module transformer 2.62); MMNET.md quotes ≈ 13.4,
a figure from an unnamed counter — this one counts every multiply-add of every conv and
matmul, the attention products included, and says so.
"""

from __future__ import annotations

import json
from functools import lru_cache

from mmnet_edge.model.config import MMNetConfig


@lru_cache(maxsize=8)
def _count(config_json: str) -> tuple[float, tuple[tuple[str, float], ...]]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from mmnet_edge.model.mmnet import MMNet

    cfg = MMNetConfig.from_dict(json.loads(config_json))
    model = MMNet(cfg).eval()
    x = torch.zeros(1, 3, cfg.input_size, cfg.input_size)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x, x)
    by_op: dict[str, float] = {}
    for op, flops in counter.get_flop_counts().get("Global", {}).items():
        name = str(op).split(".")[-1] if "." in str(op) else str(op)
        name = name.replace("aten.", "")
        by_op[name] = by_op.get(name, 0.0) + flops / 1e9
    return counter.get_total_flops() / 1e9, tuple(sorted(by_op.items()))


def model_gflops(config: MMNetConfig) -> float:
    """GFLOPs for one onset/apex pair (convolutions, matmuls and linear layers)."""
    return _count(json.dumps(config.to_dict(), sort_keys=True))[0]


def model_gflops_by_op(config: MMNetConfig) -> dict[str, float]:
    """The same total split by ATen operator (``convolution``, ``addmm``, ``bmm``…)."""
    return dict(_count(json.dumps(config.to_dict(), sort_keys=True))[1])
