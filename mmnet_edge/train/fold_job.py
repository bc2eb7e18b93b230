"""One fold as a self-contained job: what it needs (:class:`FoldJob`), how it trains and
evaluates (:func:`run_fold_job`, the function every executor runs, in this process, another
one or on a Ray worker), and what it returns (:class:`FoldOutcome`).

Each fold trains with a seed derived from the run seed and its name (:func:`fold_seed`),
deterministic kernels and the torch thread count the driver decided; the count read back
inside the fold is recorded with its result."""

from __future__ import annotations

import tempfile
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmnet_edge.checkpoint import save_checkpoint
from mmnet_edge.data import Fold
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.model import MMNetConfig
from mmnet_edge.model.mmnet import MMNet
from mmnet_edge.train.config import Recipe, TrainConfig
from mmnet_edge.train.device import cpu_kind, deterministic, seed_everything, select_device
from mmnet_edge.train.executors import (
    DEFAULT_FOLD_THREADS,
    torch_threads,
)
from mmnet_edge.train.loop import fit, predict_samples
from mmnet_edge.train.results import FoldResult


def fold_seed(seed: int, name: str) -> int:
    """Per-fold seed: stable whatever folds run before it (``--max-folds``, resume)."""
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % 2**31


def model_metadata(
    cfg: TrainConfig, mcfg: MMNetConfig, class_names: Sequence[str], **training: Any
) -> ModelMetadata:
    return ModelMetadata(
        config=mcfg, class_names=tuple(class_names), mean=cfg.mean, std=cfg.std, training=training
    )


@dataclass
class FoldJob:
    """Everything one fold needs, so it can run in another process or on another machine."""

    cfg: TrainConfig
    recipe: Recipe
    mcfg: MMNetConfig
    dataset_name: str
    class_names: tuple[str, ...]
    fold: Fold
    out: Path
    checkpoint: Path
    record: Path
    fingerprint: str
    #: torch CPU threads the fold trains with (the driver's :func:`fold_threads`)
    threads: int = DEFAULT_FOLD_THREADS
    #: the executor running the job (recorded with the fold's result)
    executor: str = "in-process"
    #: the worker returns the checkpoint's bytes (remote executors) instead of writing it
    ship_checkpoint: bool = False


@dataclass
class FoldOutcome:
    result: FoldResult
    checkpoint_bytes: bytes | None = None


def run_fold_job(job: FoldJob) -> FoldOutcome:
    """Train and evaluate one fold (the function every executor runs).

    The fold runs at ``job.threads`` torch threads with deterministic kernels, whichever
    process runs it; the process's previous settings are restored afterwards.
    """
    device = select_device(job.cfg.device)
    with torch_threads(job.threads), deterministic(device):
        return _run_fold_job(job, device)


def _run_fold_job(job: FoldJob, device: torch.device) -> FoldOutcome:
    if not job.ship_checkpoint:
        return FoldOutcome(_run_fold(job, device, job.out, job.checkpoint))
    with tempfile.TemporaryDirectory(prefix="mmnet-fold-") as tmp:
        ckpt = Path(tmp) / job.checkpoint.relative_to(job.out)
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        result = _run_fold(job, device, Path(tmp), ckpt)
        return FoldOutcome(result, ckpt.read_bytes())


def train_one_model(
    cfg: TrainConfig,
    recipe: Recipe,
    mcfg: MMNetConfig,
    samples: Sequence[Any],
    device: torch.device,
    seed: int,
    desc: str,
    progress: bool,
    eval_samples: Sequence[Any] | None = None,
) -> tuple[MMNet, Any]:
    """Seed, build and fit one model with the run's settings: (model, per-epoch predictions)."""
    seed_everything(seed)
    model = MMNet(mcfg)
    epoch_preds = fit(
        model,
        samples,
        recipe,
        device,
        seed=seed,
        augment=cfg.augment,
        amp=cfg.amp,
        num_workers=cfg.num_workers,
        eval_samples=eval_samples,
        progress=progress,
        desc=desc,
        mean=cfg.mean,
        std=cfg.std,
    )
    return model, epoch_preds


def _run_fold(job: FoldJob, device: torch.device, out: Path, ckpt_path: Path) -> FoldResult:
    cfg, recipe, mcfg, fold = job.cfg, job.recipe, job.mcfg, job.fold
    tf = time.perf_counter()
    threads = torch.get_num_threads()  # read back: what this fold really runs with
    seed = fold_seed(cfg.seed, fold.name)
    model, epoch_preds = train_one_model(
        cfg,
        recipe,
        mcfg,
        fold.train,
        device,
        seed,
        desc=f"fold {fold.name}",
        progress=cfg.progress and not job.ship_checkpoint,
        eval_samples=fold.test if cfg.report_best_epoch else None,
    )
    logits = predict_samples(
        model, fold.test, device, recipe.batch_size, cfg.amp, mean=cfg.mean, std=cfg.std
    )
    y_true = [s.label for s in fold.test]
    y_pred = logits.argmax(1).tolist()
    meta = model_metadata(
        cfg,
        mcfg,
        job.class_names,
        dataset=job.dataset_name,
        fold=fold.name,
        test_subjects=fold.test_subjects,
        seed=seed,
        epochs=recipe.epochs,
        threads=threads,
        torch=torch.__version__,
    )
    save_checkpoint(model.cpu(), meta, ckpt_path)
    return FoldResult(
        name=fold.name,
        test_subjects=fold.test_subjects,
        n_train=len(fold.train),
        n_test=len(fold.test),
        y_true=y_true,
        y_pred=y_pred,
        accuracy=float(np.mean(np.equal(y_true, y_pred))) if y_true else 0.0,
        checkpoint=str(ckpt_path.relative_to(out)),
        elapsed_s=round(time.perf_counter() - tf, 2),
        epoch_preds=epoch_preds or None,
        threads=threads,
        executor=job.executor,
        torch=torch.__version__,
        cpu=cpu_kind(),
    )


__all__ = [
    "FoldJob",
    "FoldOutcome",
    "fold_seed",
    "model_metadata",
    "run_fold_job",
    "train_one_model",
]
