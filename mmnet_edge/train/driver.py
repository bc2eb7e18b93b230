"""The training driver: dataset → folds (resumable) → pooled metrics → final model → report.

``train(TrainConfig(...))`` loads a dataset, runs every fold with a fresh, seeded model for
a fixed number of epochs (no test-set model selection), pools the test predictions into one
set of metrics, trains a final model on all subjects, and writes a report directory::

    OUT/report.json  OUT/report.md  OUT/confusion_matrix.png
    OUT/folds/<subject>.safetensors  OUT/folds/<subject>.json   (resumable)
    OUT/model.safetensors                                        (final checkpoint)

Folds run as jobs (:mod:`mmnet_edge.train.fold_job`) on an executor
(:mod:`mmnet_edge.train.executors`: this process, or Ray tasks); each finished fold is
recorded as it arrives, whatever the order.

Reproducible: every fold (and the final model) trains with a seed derived from the run seed
and its name, deterministic kernels, and the one torch thread count the driver decided
(:func:`~mmnet_edge.train.executors.fold_threads`), so the same seed and config give
bit-identical fold weights on every executor of one machine type and torch build. Each fold
records the thread count read back inside it, its executor and its torch version.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from mmnet_edge._version import __version__
from mmnet_edge.artifacts.files import atomic_write_bytes, atomic_write_text
from mmnet_edge.checkpoint import read_metadata, save_checkpoint
from mmnet_edge.data import Fold, MEDataset, holdout_split, load_dataset, loso_folds
from mmnet_edge.errors import ConfigError, MMNetEdgeError, OutputError
from mmnet_edge.metadata import IMAGENET_MEAN, IMAGENET_STD
from mmnet_edge.metrics import Metrics, compute_metrics
from mmnet_edge.model import MMNetConfig, create_config
from mmnet_edge.train.config import PROTOCOLS, Recipe, TrainConfig, default_synthetic
from mmnet_edge.train.device import deterministic, select_device
from mmnet_edge.train.executors import (
    FoldExecutor,
    fold_threads,
    make_executor,
    torch_threads,
)
from mmnet_edge.train.fold_job import (
    FoldJob,
    FoldOutcome,
    fold_seed,
    model_metadata,
    run_fold_job,
    train_one_model,
)
from mmnet_edge.train.report import build_report, write_report
from mmnet_edge.train.results import FoldResult, TrainResult

log = logging.getLogger(__name__)


def _fingerprint(cfg: TrainConfig, recipe: Recipe, mcfg: MMNetConfig, ds: MEDataset) -> str:
    facts: dict[str, Any] = {
        "dataset": cfg.dataset,
        "root": str(cfg.root) if cfg.root else None,
        "classes": ds.class_map,
        "model": mcfg.to_dict(),
        "recipe": asdict(recipe),
        "seed": cfg.seed,
        "augment": asdict(cfg.augment),
        "synthetic": cfg.synthetic.to_dict() if cfg.synthetic else None,
        "protocol": cfg.protocol,
        "holdout_fraction": cfg.holdout_fraction if cfg.protocol == "holdout" else None,
        "samples": [s.key for s in ds],
        "labels": ds.labels,
        "best_epoch": cfg.report_best_epoch,
        # another thread count gives other (equally valid) weights: a fold trained with it
        # is not this run's fold
        "threads": fold_threads(cfg),
    }
    if tuple(cfg.mean) != IMAGENET_MEAN or tuple(cfg.std) != IMAGENET_STD:
        facts["normalisation"] = [list(cfg.mean), list(cfg.std)]  # default: as before
    blob = json.dumps(facts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def load_training_dataset(cfg: TrainConfig) -> MEDataset:
    """The dataset a config names (synthetic: drawn from ``cfg.synthetic``)."""
    if cfg.dataset.lower() == "synthetic":
        return load_dataset("synthetic", config=cfg.synthetic or default_synthetic(cfg.seed))
    return load_dataset(cfg.dataset, cfg.root, classes=cfg.classes, **cfg.dataset_options)


def iter_folds(cfg: TrainConfig, ds: MEDataset) -> list[Fold]:
    """The folds ``cfg.protocol`` defines on ``ds`` (first ``cfg.max_folds`` of them)."""
    if cfg.protocol == "loso":
        folds = loso_folds(ds.samples)
    elif cfg.protocol == "holdout":
        folds = [holdout_split(ds.samples, cfg.holdout_fraction, cfg.seed)]
    else:
        raise ConfigError(f"unknown protocol {cfg.protocol!r}; choose {' or '.join(PROTOCOLS)}")
    if cfg.max_folds is not None:
        if cfg.max_folds < 1:
            raise ConfigError("--max-folds must be ≥ 1")
        folds = folds[: cfg.max_folds]
    return folds


@dataclass
class RunPlan:
    """One training run between loading its dataset and writing its report."""

    cfg: TrainConfig
    recipe: Recipe
    mcfg: MMNetConfig
    ds: MEDataset
    device: torch.device
    out: Path
    fingerprint: str
    folds: list[Fold]
    results: dict[str, FoldResult] = field(default_factory=dict)
    jobs: list[FoldJob] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)


def read_fold_record(rec_path: Path, ckpt_path: Path, fingerprint: str) -> FoldResult | None:
    """A finished fold's result, or ``None`` when it must be (re)trained.

    A record that is unreadable, truncated (a crash mid-write by an older version),
    malformed, from other settings, or whose checkpoint is missing means "not done": the
    fold is trained again (with a warning when the record was damaged).
    """
    if not rec_path.is_file():
        return None
    try:
        saved = json.loads(rec_path.read_text(encoding="utf-8"))
        if not isinstance(saved, dict):
            raise TypeError("the record is not a JSON object")
        if saved.get("fingerprint") != fingerprint:
            return None  # other settings: train again (not damage)
        result = FoldResult(**{**saved["result"], "resumed": True})
        ys = (result.y_true, result.y_pred)
        if not all(isinstance(y, list) and all(type(v) is int for v in y) for y in ys):
            raise TypeError("y_true/y_pred must be lists of class indices")
        if len(result.y_true) != len(result.y_pred):
            raise ValueError("y_true and y_pred differ in length")
    except (OSError, ValueError, TypeError, KeyError) as exc:
        msg = f"fold record {rec_path} is damaged ({type(exc).__name__}); training the fold again"
        log.warning(msg)
        warnings.warn(msg, stacklevel=3)
        return None
    if not ckpt_path.is_file():
        log.warning("fold checkpoint %s is missing; training the fold again", ckpt_path)
        return None
    return result


def plan_run(cfg: TrainConfig) -> RunPlan:
    """Load the dataset and folds; finished folds (same fingerprint) are taken from disk."""
    t0 = time.perf_counter()
    if cfg.dataset.lower() == "synthetic" and cfg.synthetic is None:
        cfg = replace(cfg, synthetic=default_synthetic(cfg.seed))
    recipe = cfg.recipe()
    device = select_device(cfg.device)
    if cfg.amp and device.type != "cuda":
        warnings.warn(f"--amp applies to CUDA only; training in fp32 on {device}", stacklevel=3)
    ds = load_training_dataset(cfg)
    mcfg = create_config(cfg.model, ds.num_classes)
    out = Path(cfg.output)
    fold_dir = out / "folds"
    try:
        fold_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create {fold_dir}: {exc.strerror or exc}; choose a writable --output folder"
        ) from exc
    fp = _fingerprint(cfg, recipe, mcfg, ds)
    folds = iter_folds(cfg, ds)
    log.info("training %s on %s: %d samples, %d folds", cfg.model, ds, len(ds), len(folds))
    plan = RunPlan(cfg, recipe, mcfg, ds, device, out, fp, folds, t0=t0)
    for fold in folds:
        stem = _safe_name(fold.name)
        rec_path, ckpt_path = fold_dir / f"{stem}.json", fold_dir / f"{stem}.safetensors"
        if cfg.resume:
            done = read_fold_record(rec_path, ckpt_path, fp)
            if done is not None:
                plan.results[fold.name] = done
                continue
        job = FoldJob(
            cfg,
            recipe,
            mcfg,
            ds.name,
            tuple(ds.class_names),
            fold,
            out,
            ckpt_path,
            rec_path,
            fp,
            threads=fold_threads(cfg),
        )
        plan.jobs.append(job)
    return plan


def run_plans(plans: Sequence[RunPlan], executor: FoldExecutor, progress: bool = True) -> None:
    """Run every pending fold of ``plans`` on ``executor``; one progress bar over all folds."""
    by_job: dict[int, RunPlan] = {}
    jobs: list[FoldJob] = []
    for plan in plans:
        for job in plan.jobs:
            job.ship_checkpoint = executor.remote
            job.executor = getattr(executor, "name", type(executor).__name__)
            by_job[id(job)] = plan
            jobs.append(job)
    total = sum(len(p.folds) for p in plans)
    protocol = plans[0].cfg.protocol if plans else "loso"
    bar = tqdm(total=total, desc=f"{protocol} folds", disable=not progress, unit="fold")
    bar.update(total - len(jobs))

    def on_done(job: FoldJob, outcome: FoldOutcome) -> None:
        result, rec_path, fp = outcome.result, job.record, job.fingerprint
        if outcome.checkpoint_bytes is not None:
            atomic_write_bytes(job.checkpoint, outcome.checkpoint_bytes)
        atomic_write_text(rec_path, json.dumps({"fingerprint": fp, "result": result.to_dict()}))
        by_job[id(job)].results[job.fold.name] = result
        bar.update(1)

    try:
        executor.map(run_fold_job, jobs, on_done)
    finally:
        bar.close()


def finish_run(plan: RunPlan) -> TrainResult:
    """Pool the fold predictions, train the final model and write the report."""
    cfg, recipe, mcfg, ds, device, out = (
        plan.cfg, plan.recipe, plan.mcfg, plan.ds, plan.device, plan.out
    )  # fmt: skip
    results = [plan.results[f.name] for f in plan.folds]
    y_true = [y for r in results for y in r.y_true]
    y_pred = [y for r in results for y in r.y_pred]
    metrics = compute_metrics(y_true, y_pred, ds.class_names)

    model_path: Path | None = None
    final_threads: int | None = None
    if cfg.final_model:
        model_path = train_final(cfg, recipe, mcfg, ds, device, metrics, plan.fingerprint, out)
        final_threads = read_metadata(model_path).training.get("threads")
    elapsed = time.perf_counter() - plan.t0
    report = build_report(
        cfg=cfg,
        recipe=recipe,
        model_config=mcfg,
        dataset=ds,
        metrics=metrics,
        folds=results,
        device=device,
        elapsed_s=elapsed,
        model_path=model_path,
        fingerprint=plan.fingerprint,
        final_model_threads=final_threads,
    )
    report_path = write_report(report, metrics, out)
    return TrainResult(metrics, report, results, out, model_path, report_path, elapsed)


def train(cfg: TrainConfig) -> TrainResult:
    """Run a full training + evaluation and write the report directory (see module doc).

    Folds run on ``cfg.executor`` (this process, or Ray tasks); a config with ``seeds`` or
    ``grid`` is a sweep: run it with :func:`mmnet_edge.train.sweep`. Each fold and the final
    model call ``torch.set_num_threads(fold_threads(cfg))`` (``cfg.threads``, default 2)
    while they train and restore the previous count after; the setting is process-wide in
    PyTorch, so other torch work of this process runs at that count meanwhile.
    """
    if cfg.is_sweep:
        raise ConfigError("this config has seeds/grid: run it with mmnet_edge.train.sweep(cfg)")
    executor = make_executor(cfg)
    plan = plan_run(cfg)
    run_plans([plan], executor, cfg.progress)
    return finish_run(plan)


def train_final(
    cfg: TrainConfig,
    recipe: Recipe,
    mcfg: MMNetConfig,
    ds: MEDataset,
    device: torch.device,
    metrics: Metrics,
    fp: str,
    out: Path,
) -> Path:
    """Train on every subject for the fixed epoch count and save ``model.safetensors``."""
    path = out / "model.safetensors"
    if cfg.resume and path.is_file():
        with contextlib.suppress(MMNetEdgeError):
            if read_metadata(path).training.get("fingerprint") == fp:
                return path
    seed = fold_seed(cfg.seed, "__final__")
    # as every fold, whatever executor ran them; the count is read back and recorded
    with torch_threads(fold_threads(cfg)), deterministic(device):
        threads = torch.get_num_threads()
        model, _ = train_one_model(
            cfg, recipe, mcfg, ds.samples, device, seed, "final model (all subjects)", cfg.progress
        )
    meta = model_metadata(
        cfg,
        mcfg,
        ds.class_names,
        dataset=ds.name,
        class_map=ds.class_map,
        samples=len(ds),
        subjects=len(ds.subjects),
        trained_on="all subjects",
        protocol=cfg.protocol,
        evaluation={
            "accuracy": round(metrics.accuracy, 4),
            "uf1": round(metrics.uf1, 4),
            "uar": round(metrics.uar, 4),
            "n": metrics.n,
            "leakage_free": True,
        },
        recipe=asdict(recipe),
        seed=cfg.seed,
        epochs=recipe.epochs,
        augment=asdict(cfg.augment),
        synthetic=cfg.synthetic.to_dict() if cfg.synthetic else None,
        fingerprint=fp,
        mmnet_edge_version=__version__,
        threads=threads,
        torch=torch.__version__,
    )
    return save_checkpoint(model.cpu(), meta, path)


__all__ = [
    "RunPlan",
    "finish_run",
    "iter_folds",
    "load_training_dataset",
    "plan_run",
    "run_plans",
    "train",
    "train_final",
]
