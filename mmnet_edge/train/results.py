"""What training produces: per-fold results and the run's result (torch-free)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mmnet_edge.metrics import Metrics


@dataclass
class FoldResult:
    name: str
    test_subjects: list[str]
    n_train: int
    n_test: int
    y_true: list[int]
    y_pred: list[int]
    accuracy: float
    checkpoint: str | None
    elapsed_s: float
    resumed: bool = False
    epoch_preds: list[list[int]] | None = None  # only with report_best_epoch
    #: torch CPU threads the fold trained with, read inside the fold (not the setting)
    threads: int | None = None
    #: the executor that ran the fold ("in-process", "ray"), the torch it ran with and the
    #: CPU kind torch picked kernels for (e.g. "x86_64/AVX512")
    executor: str | None = None
    torch: str | None = None
    cpu: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """What :func:`mmnet_edge.train.train` produced."""

    metrics: Metrics
    report: dict[str, Any]
    folds: list[FoldResult]
    output_dir: Path
    model_path: Path | None
    report_path: Path
    elapsed_s: float


__all__ = ["FoldResult", "TrainResult"]
