"""Model cost for roofline context: GFLOPs per sample (multiply-add = 2 FLOPs)."""

from __future__ import annotations

from functools import lru_cache

from mmnet_edge.model.config import MMNetConfig


@lru_cache(maxsize=8)
def _gflops(config_json: str) -> float:
    import json

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from mmnet_edge.model.mmnet import MMNet

    cfg = MMNetConfig.from_dict(json.loads(config_json))
    model = MMNet(cfg).eval()
    x = torch.zeros(1, 3, cfg.input_size, cfg.input_size)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x, x)
    return counter.get_total_flops() / 1e9


def model_gflops(config: MMNetConfig) -> float:
    """GFLOPs for one onset/apex pair (convolutions, matmuls and linear layers)."""
    import json

    return _gflops(json.dumps(config.to_dict(), sort_keys=True))
