"""The smallest training run the training tests share: the tiny preset on a 3-subject,
64 px synthetic set, one epoch, no final model, one thread, on the CPU."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from mmnet_edge.data.synthetic import SyntheticConfig
from mmnet_edge.train import TrainConfig

TINY_SET = SyntheticConfig(subjects=3, samples_per_class=1, image_size=64, seed=0)
TINY_RUN = TrainConfig(
    model="tiny",
    epochs=1,
    batch_size=8,
    synthetic=TINY_SET,
    final_model=False,
    progress=False,
    threads=1,
    device="cpu",
)


def tiny_run(output: Path | None = None, **overrides: Any) -> TrainConfig:
    """:data:`TINY_RUN` writing to ``output``, with ``overrides``."""
    return replace(TINY_RUN, **({"output": output} if output is not None else {}), **overrides)
