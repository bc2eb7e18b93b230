"""MMNet training: the authors' recipe, LOSO / holdout protocols, leakage-free metrics.

``train(TrainConfig(...))`` loads a dataset, runs every fold with a fresh, seeded model for a
fixed number of epochs (no test-set model selection), pools the test predictions into one
set of metrics, trains a final model on all subjects, and writes a report directory::

    OUT/report.json  OUT/report.md  OUT/confusion_matrix.png
    OUT/folds/<subject>.safetensors  OUT/folds/<subject>.json   (resumable)
    OUT/model.safetensors                                        (final checkpoint)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
import warnings
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from mmnet_edge._version import __version__
from mmnet_edge.checkpoint import save_checkpoint
from mmnet_edge.data import MEDataset, Sample, holdout_split, load_dataset, loso_folds
from mmnet_edge.data.samples import read_rgb
from mmnet_edge.data.synthetic import SyntheticConfig
from mmnet_edge.errors import ConfigError, MMNetEdgeError
from mmnet_edge.metadata import IMAGENET_MEAN, IMAGENET_STD, ModelMetadata
from mmnet_edge.model import MMNet, MMNetConfig
from mmnet_edge.preprocess import resize_square, to_tensor
from mmnet_edge.train.augment import AugmentConfig, augment_pair, jitter_frames
from mmnet_edge.train.metrics import Metrics, compute_metrics

log = logging.getLogger(__name__)

Protocol = Literal["loso", "holdout"]


@dataclass(frozen=True)
class Recipe:
    """Optimiser and schedule: AdamW, ExponentialLR(γ) stepped for ``decay_epochs``."""

    lr: float
    weight_decay: float
    batch_size: int
    epochs: int
    gamma: float
    decay_epochs: int


RECIPES: dict[str, Recipe] = {
    # The authors' 5-class recipe.
    "paper": Recipe(8e-4, 0.6, 32, 74, 0.987, 50),
    "paper-3class": Recipe(8e-4, 0.6, 32, 74, 0.987, 50),
    # CPU-sized: the tiny model learns the synthetic set in a few epochs. Tuned on the
    # synthetic set (see docs/training.md); not a paper figure.
    "tiny": Recipe(2e-3, 0.05, 16, 16, 0.93, 16),
}


@dataclass
class TrainConfig:
    """Everything a training run depends on. ``None`` fields take the preset's recipe."""

    dataset: str = "synthetic"
    root: Path | str | None = None
    classes: str | None = None
    model: str = "paper"
    protocol: Protocol = "loso"
    output: Path | str = "runs/train"
    epochs: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    batch_size: int | None = None
    gamma: float | None = None
    decay_epochs: int | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    report_best_epoch: bool = False
    max_folds: int | None = None
    holdout_fraction: float = 0.2
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    synthetic: SyntheticConfig | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    final_model: bool = True
    resume: bool = True
    num_workers: int = 0
    threads: int | None = None
    progress: bool = True

    def recipe(self) -> Recipe:
        """The effective recipe: the preset's, overridden by every field that is set."""
        key = self.model.lower().replace("_", "-")
        base = RECIPES.get(key, RECIPES["paper"])
        r = replace(
            base,
            **{
                k: v
                for k, v in (
                    ("lr", self.lr),
                    ("weight_decay", self.weight_decay),
                    ("batch_size", self.batch_size),
                    ("epochs", self.epochs),
                    ("gamma", self.gamma),
                    ("decay_epochs", self.decay_epochs),
                )
                if v is not None
            },
        )
        if r.epochs < 1 or r.batch_size < 1 or r.lr <= 0 or not 0 < r.gamma <= 1:
            raise ConfigError(f"invalid training recipe {r}: need epochs ≥ 1, batch ≥ 1, lr > 0")
        return r


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """What :func:`train` produced."""

    metrics: Metrics
    report: dict[str, Any]
    folds: list[FoldResult]
    output_dir: Path
    model_path: Path | None
    report_path: Path
    elapsed_s: float


# --------------------------------------------------------------------------- helpers


def select_device(name: str = "auto") -> torch.device:
    """``auto`` → CUDA, else Apple MPS, else CPU; a named device must be available."""
    name = name.lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda requested but torch sees no CUDA GPU; use --device cpu")
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError("--device mps requested but MPS is not available; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from exc


def seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def fold_seed(seed: int, name: str) -> int:
    """Per-fold seed: stable whatever folds run before it (``--max-folds``, resume)."""
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % 2**31


class PairDataset(Dataset):
    """Samples → (onset, apex, label) tensors through the shared preprocessing path."""

    def __init__(
        self,
        samples: Sequence[Sample],
        size: int,
        mean: Sequence[float],
        std: Sequence[float],
        augment: AugmentConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.samples = list(samples)
        self.size, self.mean, self.std = size, tuple(mean), tuple(std)
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self._cache: dict[Any, Any] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def _frame(self, path: Path) -> np.ndarray:
        if path not in self._cache:
            self._cache[path] = resize_square(read_rgb(path), self.size)
        return self._cache[path]

    def _pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index not in self._cache:
            onset, apex = self.samples[index].load_pair()
            self._cache[index] = (resize_square(onset, self.size), resize_square(apex, self.size))
        return self._cache[index]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        s = self.samples[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        picked = None
        if self.augment is not None and self.augment.temporal_jitter:
            picked = jitter_frames(s, rng)
        if picked is not None:
            onset, apex = self._frame(picked[0]), self._frame(picked[1])
        else:
            onset, apex = self._pair(index)
        if self.augment is not None:
            onset, apex = augment_pair(onset, apex, rng, self.augment)
        t = to_tensor([onset, apex], self.size, self.mean, self.std)
        return torch.from_numpy(t[0]), torch.from_numpy(t[1]), s.label


def _loader(ds: PairDataset, batch: int, shuffle: bool, seed: int, workers: int) -> DataLoader:
    g = torch.Generator()
    g.manual_seed(seed)
    return DataLoader(
        ds,
        batch_size=batch,
        shuffle=shuffle,
        generator=g,
        num_workers=workers,
        drop_last=False,
        persistent_workers=workers > 0,
    )


def _autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[Any]:
    if amp and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


@torch.no_grad()
def predict_samples(
    model: MMNet,
    samples: Sequence[Sample] | PairDataset,
    device: torch.device,
    batch_size: int = 32,
    amp: bool = False,
) -> np.ndarray:
    """Logits (N×C, float32) for samples, in order, without augmentation."""
    ds = samples if isinstance(samples, PairDataset) else _eval_dataset(samples, model.config)
    model.eval()
    out = []
    for onset, apex, _ in _loader(ds, batch_size, False, 0, 0):
        with _autocast(device, amp):
            logits = model(onset.to(device), apex.to(device))
        out.append(logits.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.num_classes), np.float32)


def _eval_dataset(samples: Sequence[Sample], config: MMNetConfig) -> PairDataset:
    return PairDataset(samples, config.input_size, IMAGENET_MEAN, IMAGENET_STD, None)


def fit(
    model: MMNet,
    train_samples: Sequence[Sample],
    recipe: Recipe,
    device: torch.device,
    *,
    seed: int = 0,
    augment: AugmentConfig | None = None,
    amp: bool = False,
    num_workers: int = 0,
    eval_samples: Sequence[Sample] | None = None,
    progress: bool = True,
    desc: str = "train",
) -> list[list[int]]:
    """Train ``model`` in place for ``recipe.epochs`` epochs (AdamW + ExponentialLR).

    With ``eval_samples``, returns the predictions on them after every epoch (used only for
    the explicitly-labelled, test-set-selected best-epoch figure).
    """
    cfg = model.config
    train_ds = PairDataset(
        train_samples, cfg.input_size, IMAGENET_MEAN, IMAGENET_STD, augment, seed=seed
    )
    eval_ds = _eval_dataset(eval_samples, cfg) if eval_samples else None
    loader = _loader(train_ds, recipe.batch_size, True, seed, num_workers)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=recipe.gamma)
    use_amp = amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = torch.nn.CrossEntropyLoss()
    epoch_preds: list[list[int]] = []
    bar = tqdm(range(recipe.epochs), desc=desc, leave=False, disable=not progress, unit="ep")
    for epoch in bar:
        model.train()
        train_ds.set_epoch(epoch)
        total, correct, loss_sum = 0, 0, 0.0
        for onset, apex, label in loader:
            onset, apex, label = onset.to(device), apex.to(device), label.to(device)
            opt.zero_grad(set_to_none=True)
            with _autocast(device, use_amp):
                logits = model(onset, apex)
                loss = loss_fn(logits.float(), label)
            if not torch.isfinite(loss):
                raise MMNetEdgeError(
                    f"{desc}: loss became {loss.item()} at epoch {epoch + 1}; lower --lr "
                    "or disable --amp"
                )
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            n = label.numel()
            total += n
            loss_sum += float(loss.detach()) * n
            correct += int((logits.argmax(1) == label).sum())
        if epoch < recipe.decay_epochs:
            sched.step()
        postfix = {
            "loss": f"{loss_sum / max(total, 1):.3f}",
            "acc": f"{correct / max(total, 1):.2f}",
        }
        if eval_ds is not None:
            preds = predict_samples(model, eval_ds, device, recipe.batch_size, use_amp).argmax(1)
            epoch_preds.append(preds.tolist())
        bar.set_postfix(postfix)
    model.eval()
    return epoch_preds


# --------------------------------------------------------------------------- driver


def _fingerprint(cfg: TrainConfig, recipe: Recipe, mcfg: MMNetConfig, ds: MEDataset) -> str:
    blob = json.dumps(
        {
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
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def default_synthetic(seed: int = 0) -> SyntheticConfig:
    """The synthetic set ``train`` draws when none is given (seeded like the run)."""
    return SyntheticConfig(seed=seed)


def load_training_dataset(cfg: TrainConfig) -> MEDataset:
    """The dataset a config names (synthetic: drawn from ``cfg.synthetic``)."""
    if cfg.dataset.lower() == "synthetic":
        return load_dataset("synthetic", config=cfg.synthetic or default_synthetic(cfg.seed))
    return load_dataset(cfg.dataset, cfg.root, classes=cfg.classes, **cfg.dataset_options)


def _iter_folds(cfg: TrainConfig, ds: MEDataset) -> Iterator[Any]:
    if cfg.protocol == "loso":
        folds = loso_folds(ds.samples)
    elif cfg.protocol == "holdout":
        folds = [holdout_split(ds.samples, cfg.holdout_fraction, cfg.seed)]
    else:
        raise ConfigError(f"unknown protocol {cfg.protocol!r}; choose loso or holdout")
    if cfg.max_folds is not None:
        if cfg.max_folds < 1:
            raise ConfigError("--max-folds must be ≥ 1")
        folds = folds[: cfg.max_folds]
    yield from folds


def train(cfg: TrainConfig) -> TrainResult:
    """Run a full training + evaluation and write the report directory (see module doc)."""
    from mmnet_edge.train.report import build_report, write_report

    t0 = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.dataset.lower() == "synthetic" and cfg.synthetic is None:
        cfg = replace(cfg, synthetic=default_synthetic(cfg.seed))
    recipe = cfg.recipe()
    device = select_device(cfg.device)
    if cfg.amp and device.type != "cuda":
        warnings.warn(f"--amp applies to CUDA only; training in fp32 on {device}", stacklevel=2)
    ds = load_training_dataset(cfg)
    mcfg = MMNetConfig.preset(cfg.model, ds.num_classes)
    out = Path(cfg.output)
    fold_dir = out / "folds"
    fold_dir.mkdir(parents=True, exist_ok=True)
    fp = _fingerprint(cfg, recipe, mcfg, ds)
    folds = list(_iter_folds(cfg, ds))
    log.info("training %s on %s: %d samples, %d folds", cfg.model, ds, len(ds), len(folds))

    results: list[FoldResult] = []
    for fold in tqdm(folds, desc=f"{cfg.protocol} folds", disable=not cfg.progress, unit="fold"):
        stem = _safe_name(fold.name)
        rec_path, ckpt_path = fold_dir / f"{stem}.json", fold_dir / f"{stem}.safetensors"
        if cfg.resume and rec_path.is_file():
            saved = json.loads(rec_path.read_text())
            if saved.get("fingerprint") == fp:
                saved["result"]["resumed"] = True
                results.append(FoldResult(**saved["result"]))
                continue
        tf = time.perf_counter()
        seed = fold_seed(cfg.seed, fold.name)
        seed_everything(seed)
        model = MMNet(mcfg)
        epoch_preds = fit(
            model,
            fold.train,
            recipe,
            device,
            seed=seed,
            augment=cfg.augment,
            amp=cfg.amp,
            num_workers=cfg.num_workers,
            eval_samples=fold.test if cfg.report_best_epoch else None,
            progress=cfg.progress,
            desc=f"fold {fold.name}",
        )
        logits = predict_samples(model, fold.test, device, recipe.batch_size, cfg.amp)
        y_true = [s.label for s in fold.test]
        y_pred = logits.argmax(1).tolist()
        meta = ModelMetadata(
            config=mcfg,
            class_names=ds.class_names,
            training={
                "dataset": ds.name,
                "fold": fold.name,
                "test_subjects": fold.test_subjects,
                "seed": seed,
                "epochs": recipe.epochs,
            },
        )
        save_checkpoint(model.cpu(), meta, ckpt_path)
        result = FoldResult(
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
        )
        rec_path.write_text(json.dumps({"fingerprint": fp, "result": result.to_dict()}))
        results.append(result)

    y_true = [y for r in results for y in r.y_true]
    y_pred = [y for r in results for y in r.y_pred]
    metrics = compute_metrics(y_true, y_pred, ds.class_names)

    model_path: Path | None = None
    if cfg.final_model:
        model_path = _train_final(cfg, recipe, mcfg, ds, device, metrics, fp, out)
    elapsed = time.perf_counter() - t0
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
        fingerprint=fp,
    )
    report_path = write_report(report, metrics, out)
    return TrainResult(metrics, report, results, out, model_path, report_path, elapsed)


def _train_final(
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
    from mmnet_edge.checkpoint import read_metadata

    path = out / "model.safetensors"
    if cfg.resume and path.is_file():
        with contextlib.suppress(MMNetEdgeError):
            if read_metadata(path).training.get("fingerprint") == fp:
                return path
    seed = fold_seed(cfg.seed, "__final__")
    seed_everything(seed)
    model = MMNet(mcfg)
    fit(
        model,
        ds.samples,
        recipe,
        device,
        seed=seed,
        augment=cfg.augment,
        amp=cfg.amp,
        num_workers=cfg.num_workers,
        progress=cfg.progress,
        desc="final model (all subjects)",
    )
    meta = ModelMetadata(
        config=mcfg,
        class_names=ds.class_names,
        training={
            "dataset": ds.name,
            "class_map": ds.class_map,
            "samples": len(ds),
            "subjects": len(ds.subjects),
            "trained_on": "all subjects",
            "protocol": cfg.protocol,
            "evaluation": {
                "accuracy": round(metrics.accuracy, 4),
                "uf1": round(metrics.uf1, 4),
                "uar": round(metrics.uar, 4),
                "n": metrics.n,
                "leakage_free": True,
            },
            "recipe": asdict(recipe),
            "seed": cfg.seed,
            "epochs": recipe.epochs,
            "augment": asdict(cfg.augment),
            "synthetic": cfg.synthetic.to_dict() if cfg.synthetic else None,
            "fingerprint": fp,
            "mmnet_edge_version": __version__,
        },
    )
    return save_checkpoint(model.cpu(), meta, path)


__all__ = [
    "RECIPES",
    "FoldResult",
    "PairDataset",
    "Recipe",
    "TrainConfig",
    "TrainResult",
    "fit",
    "fold_seed",
    "predict_samples",
    "select_device",
    "train",
]
