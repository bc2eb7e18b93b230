"""Training reports: ``report.json``, ``report.md`` and ``confusion_matrix.png``."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from mmnet_edge._version import __version__
from mmnet_edge.artifacts.files import atomic_path, atomic_write_text
from mmnet_edge.metrics import Metrics, compute_metrics

if TYPE_CHECKING:
    from mmnet_edge.data import MEDataset
    from mmnet_edge.model import MMNetConfig
    from mmnet_edge.train.config import Recipe, TrainConfig
    from mmnet_edge.train.results import FoldResult

BEST_EPOCH_LABEL = "test-set selected (leaks)"


def _round(x: float) -> float:
    return round(float(x), 4)


def best_epoch_metrics(folds: list[FoldResult], class_names: list[str]) -> dict[str, Any] | None:
    """The authors' figure: per fold, the epoch with the best test accuracy. It selects on
    the test subject, so it overstates generalisation; reported only on request."""
    if not folds or any(not f.epoch_preds for f in folds):
        return None
    y_true: list[int] = []
    y_pred: list[int] = []
    chosen = {}
    for f in folds:
        accs = [float(np.mean(np.equal(f.y_true, p))) if f.y_true else 0.0 for p in f.epoch_preds]
        best = int(np.argmax(accs))
        chosen[f.name] = best + 1
        y_true += f.y_true
        y_pred += f.epoch_preds[best]
    m = compute_metrics(y_true, y_pred, class_names)
    return {
        "label": BEST_EPOCH_LABEL,
        "note": "per-fold epoch chosen by test-subject accuracy (authors' protocol); "
        "not a generalisation estimate",
        "accuracy": _round(m.accuracy),
        "uf1": _round(m.uf1),
        "uar": _round(m.uar),
        "epochs": chosen,
    }


def build_report(
    *,
    cfg: TrainConfig,
    recipe: Recipe,
    model_config: MMNetConfig,
    dataset: MEDataset,
    metrics: Metrics,
    folds: list[FoldResult],
    device: torch.device,
    elapsed_s: float,
    model_path: Path | None,
    fingerprint: str,
    final_model_threads: int | None = None,
) -> dict[str, Any]:
    """The ``report.json`` content (top-level metrics + everything needed to reproduce).

    Thread counts, executors and torch versions are the ones each fold recorded from inside
    itself (a resumed fold keeps what it ran with); ``final_model_threads`` is the count read
    back while the final model trained (from its checkpoint's metadata).
    """
    report: dict[str, Any] = {
        "accuracy": _round(metrics.accuracy),
        "uf1": _round(metrics.uf1),
        "uar": _round(metrics.uar),
        "per_class": [
            {k: (_round(v) if isinstance(v, float) else v) for k, v in asdict(c).items()}
            for c in metrics.per_class
        ],
        "confusion_matrix": metrics.confusion_matrix,
        "class_names": list(dataset.class_names),
        "protocol": cfg.protocol,
        "folds": [
            {
                "name": f.name,
                "test_subjects": f.test_subjects,
                "n_train": f.n_train,
                "n_test": f.n_test,
                "accuracy": _round(f.accuracy),
                "checkpoint": f.checkpoint,
                "elapsed_s": f.elapsed_s,
                "resumed": f.resumed,
                "threads": f.threads,
                "executor": f.executor,
                "torch": f.torch,
                "cpu": f.cpu,
            }
            for f in folds
        ],
        "seed": cfg.seed,
        "n_test_samples": metrics.n,
        "leakage_free": True,
        "evaluation": "fixed epoch count, no test-set model selection; "
        "metrics on predictions pooled over folds",
        "absent_classes": metrics.absent,
        "dataset": {
            **dataset.summary(),
            "synthetic": cfg.synthetic.to_dict() if cfg.synthetic else None,
        },
        "model": {"preset": cfg.model, "config": model_config.to_dict()},
        "recipe": asdict(recipe),
        "recipe_name": cfg.base_recipe_name(),
        "epochs": recipe.epochs,
        "augment": asdict(cfg.augment),
        "device": str(device),
        "amp": bool(cfg.amp and device.type == "cuda"),
        "max_folds": cfg.max_folds,
        "elapsed_s": round(elapsed_s, 1),
        "final_model": str(model_path.name) if model_path else None,
        "fingerprint": fingerprint,
        "environment": {
            "mmnet_edge": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            # read inside each fold and the final model's training: with the torch build and
            # CPU kind, what decides bit-identical weights across executors
            "fold_threads": sorted({f.threads for f in folds if f.threads is not None}),
            "fold_executors": sorted({f.executor for f in folds if f.executor}),
            "fold_torch": sorted({f.torch for f in folds if f.torch}),
            "fold_cpus": sorted({f.cpu for f in folds if f.cpu}),
            "final_model_threads": final_model_threads,
        },
    }
    if cfg.report_best_epoch:
        report["best_epoch"] = best_epoch_metrics(folds, list(dataset.class_names))
    return report


def _environment_line(env: dict[str, Any]) -> str:
    def join(values: Any) -> str:
        return ", ".join(str(v) for v in values) if values else "?"

    return (
        f"- ran with: torch threads per fold {join(env.get('fold_threads'))} "
        f"(final model {env.get('final_model_threads') or '—'}), executor "
        f"{join(env.get('fold_executors'))}, torch {join(env.get('fold_torch'))}, "
        f"CPU {join(env.get('fold_cpus'))}"
    )


def render_markdown(report: dict[str, Any]) -> str:
    ds = report["dataset"]
    lines = [
        f"# MMNet training report — {ds['dataset']} ({report['protocol']})",
        "",
        f"- samples: {ds['samples']} from {ds['subjects']} subjects, class map "
        f"`{ds['class_map']}`; folds run: {len(report['folds'])}",
        f"- model: `{report['model']['preset']}` "
        f"({report['model']['config']['input_size']} px), epochs {report['epochs']}, "
        f"seed {report['seed']}, device {report['device']}, {report['elapsed_s']} s",
        f"- recipe: {', '.join(f'{k}={v}' for k, v in report['recipe'].items())}",
        _environment_line(report.get("environment", {})),
        "",
        "## Leakage-free result (fixed epoch count, pooled over folds)",
        "",
        "| accuracy | UF1 | UAR | n |",
        "|---:|---:|---:|---:|",
        f"| {report['accuracy']:.4f} | {report['uf1']:.4f} | {report['uar']:.4f} | "
        f"{report['n_test_samples']} |",
        "",
        "| class | precision | recall | F1 | support |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in report["per_class"]:
        lines.append(
            f"| {c['name']} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | "
            f"{c['support']} |"
        )
    names = report["class_names"]
    lines += ["", "Confusion matrix (rows = true, columns = predicted):", ""]
    lines.append("| true \\ pred | " + " | ".join(names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    for n, row in zip(names, report["confusion_matrix"]):
        lines.append(f"| {n} | " + " | ".join(str(v) for v in row) + " |")
    best = report.get("best_epoch")
    if best:
        lines += [
            "",
            f"## Best-epoch figure — {best['label']}",
            "",
            f"accuracy {best['accuracy']:.4f}, UF1 {best['uf1']:.4f}, UAR {best['uar']:.4f}. "
            "Each fold's epoch was chosen on its *test* subject (the authors' protocol); this "
            "leaks the test set and is not comparable to the figure above.",
        ]
    lines += [
        "",
        "## Folds",
        "",
        "| fold | test subjects | n test | accuracy |",
        "|---|---|---:|---:|",
    ]
    for f in report["folds"]:
        lines.append(
            f"| {f['name']} | {', '.join(f['test_subjects'])} | {f['n_test']} | "
            f"{f['accuracy']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def plot_confusion(cm: list[list[int]], class_names: list[str], path: Path, title: str) -> Path:
    """Confusion matrix heat-map (counts, row-normalised colour) as PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    arr = np.asarray(cm, dtype=float)
    norm = arr / np.maximum(arr.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.2 * len(class_names) + 2.5, 1.0 * len(class_names) + 2))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(class_names)), class_names, rotation=35, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(arr.shape[0]):
        for j in range(arr.shape[1]):
            ax.text(
                j,
                i,
                int(arr[i, j]),
                ha="center",
                va="center",
                color="white" if norm[i, j] > 0.5 else "black",
            )
    fig.colorbar(im, ax=ax, fraction=0.046, label="row-normalised")
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
    finally:
        plt.close(fig)
    return path


def write_report(report: dict[str, Any], metrics: Metrics, out: Path) -> Path:
    """Write report.json, report.md and confusion_matrix.png into ``out``; returns the JSON."""
    path = out / "report.json"
    atomic_write_text(path, json.dumps(report, indent=2, default=str))
    atomic_write_text(out / "report.md", render_markdown(report))
    title = (
        f"{report['dataset']['dataset']} {report['protocol']}: "
        f"UF1 {report['uf1']:.3f}, UAR {report['uar']:.3f}"
    )
    plot_confusion(
        metrics.confusion_matrix, metrics.class_names, out / "confusion_matrix.png", title
    )
    return path


__all__ = [
    "BEST_EPOCH_LABEL",
    "best_epoch_metrics",
    "build_report",
    "plot_confusion",
    "render_markdown",
    "write_report",
]
