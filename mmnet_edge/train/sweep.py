"""Sweeps: one training run per (grid setting × seed), folds of all runs fanned out together.

``sweep(cfg)`` expands ``cfg.grid`` (setting overrides) × ``cfg.seeds`` into runs, each a
normal run directory ``OUT/<setting>/seed<N>/`` (report, folds, resumable), submits every
pending fold of every run to one executor (so a Ray cluster sees them all at once), and
writes one summary table: mean ± std over seeds of accuracy, UF1 and UAR per setting::

    OUT/sweep.json  OUT/sweep.md

A grid file (TOML or JSON) is either a table of lists (their cartesian product) or a list
of settings under ``settings``::

    lr = [1e-3, 2e-3]            # → 4 settings        [[settings]]
    epochs = [1, 2]                                    lr = 1e-3
                                                       epochs = 2
"""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mmnet_edge.errors import ConfigError
from mmnet_edge.train.config import TrainConfig, default_synthetic
from mmnet_edge.train.results import TrainResult

#: TrainConfig fields a grid setting may override
GRID_KEYS = (
    "lr",
    "weight_decay",
    "batch_size",
    "epochs",
    "gamma",
    "decay_epochs",
    "model",
    "recipe_name",
    "amp",
)


def load_grid(path: str | Path) -> tuple[dict[str, Any], ...]:
    """Read a TOML or JSON grid file into a tuple of settings (see module doc)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read grid file {path}: {exc}") from exc
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            try:
                import tomllib
            except ImportError:  # pragma: no cover - Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
    except ValueError as exc:
        raise ConfigError(f"grid file {path} does not parse: {exc}") from exc
    return expand_grid(data, str(path))


def expand_grid(data: Any, source: str = "grid") -> tuple[dict[str, Any], ...]:
    """``{"lr": [a, b]}`` → product of the lists; ``{"settings": [...]}`` or a list → as is."""
    if isinstance(data, dict) and "settings" in data:
        data = data["settings"]
    if isinstance(data, dict):
        keys = list(data)
        values = [v if isinstance(v, list) else [v] for v in data.values()]
        settings = [dict(zip(keys, combo)) for combo in itertools.product(*values)]
    elif isinstance(data, list) and all(isinstance(d, dict) for d in data):
        settings = [dict(d) for d in data]
    else:
        raise ConfigError(f"{source}: expected a table of lists or a list of settings")
    for s in settings:
        unknown = sorted(set(s) - set(GRID_KEYS))
        if unknown:
            raise ConfigError(
                f"{source}: cannot sweep {', '.join(unknown)}; grid keys: {', '.join(GRID_KEYS)}"
            )
    return tuple(settings)


def setting_name(setting: dict[str, Any]) -> str:
    """``{"lr": 0.001, "epochs": 2}`` → ``epochs=2,lr=0.001`` (``default`` when empty)."""
    if not setting:
        return "default"
    return ",".join(f"{k}={setting[k]}" for k in sorted(setting))


def _dir_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=," else "_" for c in name)


@dataclass
class SweepResult:
    """What :func:`sweep` produced: every run, and the per-setting summary rows."""

    runs: list[tuple[str, int, TrainResult]]
    summary: list[dict[str, Any]]
    output_dir: Path
    json_path: Path
    markdown_path: Path
    elapsed_s: float


def expand(cfg: TrainConfig) -> list[tuple[str, dict[str, Any], int, TrainConfig]]:
    """(setting name, overrides, seed, run config) for every run of the sweep."""
    out = Path(cfg.output)
    base = replace(cfg, seeds=None, grid=())
    if base.dataset.lower() == "synthetic" and base.synthetic is None:
        base = replace(base, synthetic=default_synthetic(cfg.seed))  # one set for every seed
    seeds = tuple(cfg.seeds) if cfg.seeds else (cfg.seed,)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds lists a seed twice: {','.join(map(str, seeds))}")
    runs = []
    for setting in cfg.grid or ({},):
        unknown = sorted(set(setting) - set(GRID_KEYS))
        if unknown:
            raise ConfigError(f"cannot sweep {', '.join(unknown)}; grid keys: {GRID_KEYS}")
        name = setting_name(setting)
        for seed in seeds:
            run_dir = out / _dir_name(name) / f"seed{seed}"
            runs.append((name, setting, seed, replace(base, **setting, seed=seed, output=run_dir)))
    return runs


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def summarize(runs: list[tuple[str, dict[str, Any], int, TrainResult]]) -> list[dict[str, Any]]:
    """One row per setting: mean and sample std (n−1) over its seeds."""
    rows: list[dict[str, Any]] = []
    for name in dict.fromkeys(r[0] for r in runs):
        mine = [r for r in runs if r[0] == name]
        row: dict[str, Any] = {
            "setting": name,
            "overrides": mine[0][1],
            "seeds": [r[2] for r in mine],
            "n_runs": len(mine),
        }
        for metric in ("accuracy", "uf1", "uar"):
            mean, std = _mean_std([float(getattr(r[3].metrics, metric)) for r in mine])
            row[metric] = {"mean": round(mean, 4), "std": round(std, 4)}
        row["per_seed"] = {
            str(r[2]): {
                "accuracy": round(r[3].metrics.accuracy, 4),
                "uf1": round(r[3].metrics.uf1, 4),
                "uar": round(r[3].metrics.uar, 4),
                "report": str(r[3].report_path),
            }
            for r in mine
        }
        rows.append(row)
    return rows


def summary_markdown(cfg: TrainConfig, rows: list[dict[str, Any]]) -> str:
    """The summary table as Markdown."""
    lines = [
        "# MMNet sweep",
        "",
        f"{cfg.protocol} on {cfg.dataset}, model {cfg.model}, executor {cfg.executor}; "
        "mean ± sample std over seeds (leakage-free, fixed epochs).",
        "",
        "| setting | seeds | accuracy | UF1 | UAR |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [f"{r[m]['mean']:.4f} ± {r[m]['std']:.4f}" for m in ("accuracy", "uf1", "uar")]
        seeds = ",".join(map(str, r["seeds"]))
        lines.append(f"| {r['setting']} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def sweep(cfg: TrainConfig) -> SweepResult:
    """Run every (setting × seed) of ``cfg`` and write ``sweep.json`` + ``sweep.md``.

    Every fold pins its own torch thread count (``cfg.threads``, default 2), as in
    :func:`mmnet_edge.train.train`; this process's count is left as it was.
    """
    from mmnet_edge.artifacts.files import atomic_write_text
    from mmnet_edge.train.driver import finish_run, plan_run, run_plans
    from mmnet_edge.train.executors import make_executor

    t0 = time.perf_counter()
    executor = make_executor(cfg)
    runs = expand(cfg)
    plans = [plan_run(run_cfg) for *_, run_cfg in runs]
    run_plans(plans, executor, cfg.progress)
    done = [(n, s, seed, finish_run(p)) for (n, s, seed, _), p in zip(runs, plans)]
    rows = summarize(done)
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "format": "mmnet-edge-sweep/1",
        "protocol": cfg.protocol,
        "dataset": cfg.dataset,
        "model": cfg.model,
        "executor": cfg.executor,
        "std": "sample standard deviation over seeds (n-1); 0 for one seed",
        "settings": rows,
    }
    json_path = atomic_write_text(out / "sweep.json", json.dumps(doc, indent=2))
    md_path = atomic_write_text(out / "sweep.md", summary_markdown(cfg, rows))
    return SweepResult(
        [(n, seed, r) for n, _, seed, r in done],
        rows,
        out,
        json_path,
        md_path,
        time.perf_counter() - t0,
    )


__all__ = [
    "GRID_KEYS",
    "SweepResult",
    "expand",
    "expand_grid",
    "load_grid",
    "setting_name",
    "summarize",
    "sweep",
]
