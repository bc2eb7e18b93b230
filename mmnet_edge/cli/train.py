"""``mmnet-edge train``: a thin click layer over :func:`mmnet_edge.train.train`."""

from __future__ import annotations

from pathlib import Path

import click

from mmnet_edge.cli.numbers import (
    IMAGE_SIZE,
    NON_NEGATIVE_FLOAT,
    NON_NEGATIVE_INT,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    FiniteFloatRange,
)
from mmnet_edge.data import list_datasets
from mmnet_edge.model import list_models
from mmnet_edge.train.config import EXECUTORS, PROTOCOLS, get_recipe, list_recipes


def _fmt(v: float) -> str:
    return f"{v:.4f}"


def _seeds(value: str | None) -> tuple[int, ...] | None:
    if not value:
        return None
    try:
        return tuple(int(v) for v in value.split(","))
    except ValueError as exc:
        raise click.BadParameter("use --seeds 0,1,2", param_hint="--seeds") from exc


def _defaults(field: str) -> str:
    """``[paper 74, tiny 16]``: a recipe field's value per registered recipe."""
    values: dict[object, list[str]] = {}
    for name in list_recipes():
        values.setdefault(getattr(get_recipe(name), field), []).append(name)
    return "[" + ", ".join(f"{names[0]} {v}" for v, names in values.items()) + "]"


@click.command()
@click.option(
    "--dataset", type=click.Choice(list_datasets()), default="synthetic", show_default=True
)
@click.option("--root", type=click.Path(path_type=Path), default=None, help="Dataset folder.")
@click.option(
    "--classes", default=None, help="Class map: 5class, 3class, 6class… (dataset default)."
)
@click.option(
    "--layout",
    type=click.Choice(["auto", "raw", "cropped"]),
    default=None,
    help="CASME II frame folder to read (default auto: Cropped/ if present).",
)
@click.option(
    "--config",
    "model",
    type=click.Choice(list_models()),
    default="paper",
    show_default=True,
    help="Model preset (tiny = 112 px, CPU).",
)
@click.option(
    "--recipe",
    type=click.Choice(list_recipes()),
    default=None,
    help="Training recipe (optimiser + schedule) [default: the model preset's].",
)
@click.option("--protocol", type=click.Choice(PROTOCOLS), default="loso", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=Path("runs/train"),
    show_default=True,
    help="Report / checkpoint directory.",
)
@click.option(
    "--epochs", type=POSITIVE_INT, default=None, help=f"Fixed epoch count {_defaults('epochs')}."
)
@click.option(
    "--lr", type=POSITIVE_FLOAT, default=None, help=f"AdamW learning rate {_defaults('lr')}."
)
@click.option(
    "--weight-decay",
    type=NON_NEGATIVE_FLOAT,
    default=None,
    help=f"AdamW weight decay {_defaults('weight_decay')}.",
)
@click.option("--batch-size", type=POSITIVE_INT, default=None, help=f"{_defaults('batch_size')}.")
@click.option(
    "--gamma",
    type=FiniteFloatRange(0.0, 1.0, min_open=True),
    default=None,
    help=f"ExponentialLR γ {_defaults('gamma')}.",
)
@click.option(
    "--decay-epochs",
    type=NON_NEGATIVE_INT,
    default=None,
    help=f"Epochs the LR decays {_defaults('decay_epochs')}.",
)
@click.option("--seed", type=NON_NEGATIVE_INT, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto|cpu|cuda|cuda:N|mps")
@click.option("--amp", is_flag=True, help="Mixed precision (CUDA only).")
@click.option(
    "--report-best-epoch",
    is_flag=True,
    help="Also report the authors' per-fold best epoch (test-set selected: leaks).",
)
@click.option("--max-folds", type=POSITIVE_INT, default=None, help="Run only the first N folds.")
@click.option(
    "--holdout-fraction",
    type=FiniteFloatRange(0.0, 1.0, min_open=True, max_open=True),
    default=0.2,
    show_default=True,
    help="Share of subjects held out with --protocol holdout.",
)
@click.option("--no-augment", is_flag=True, help="Disable flip/rotation/crop augmentation.")
@click.option("--no-temporal-jitter", is_flag=True, help="Always use the annotated frames.")
@click.option("--no-final-model", is_flag=True, help="Skip training model.safetensors.")
@click.option("--no-resume", is_flag=True, help="Retrain folds that already finished.")
@click.option(
    "--workers", type=NON_NEGATIVE_INT, default=0, show_default=True, help="DataLoader workers."
)
@click.option(
    "--threads",
    type=POSITIVE_INT,
    default=None,
    help="torch CPU threads per fold, the same on every executor [default: 2, or 1 on a "
    "1-CPU machine]; fold weights are bit-identical across executors at one thread count.",
)
@click.option(
    "--synthetic-subjects", type=POSITIVE_INT, default=None, help="Synthetic set: subjects."
)
@click.option(
    "--synthetic-per-class",
    type=POSITIVE_INT,
    default=None,
    help="Synthetic set: samples per class per subject.",
)
@click.option("--synthetic-size", type=IMAGE_SIZE, default=None, help="Synthetic image size [224].")
@click.option(
    "--synthetic-seed", type=NON_NEGATIVE_INT, default=None, help="Synthetic set seed [--seed]."
)
@click.option(
    "--executor",
    type=click.Choice(EXECUTORS),
    default="in-process",
    show_default=True,
    help="Run folds here, or as Ray tasks (the [ray] extra).",
)
@click.option("--address", default=None, help="Ray cluster: auto or HOST:PORT [local Ray].")
@click.option("--gpus-per-fold", type=NON_NEGATIVE_FLOAT, default=0.0, show_default=True)
@click.option(
    "--cpus-per-fold",
    type=POSITIVE_FLOAT,
    default=None,
    help="CPUs each Ray fold task asks for [default: its --threads].",
)
@click.option("--seeds", default=None, help="Sweep seeds, e.g. 0,1,2 (summary: mean ± std).")
@click.option(
    "--grid",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Sweep grid file (TOML/JSON): settings × seeds.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def train(**o: object) -> None:
    """Train MMNet with leave-one-subject-out (or holdout) evaluation.

    Writes OUTPUT/report.json, report.md, confusion_matrix.png, per-fold checkpoints in
    OUTPUT/folds/ (finished folds are skipped on rerun) and OUTPUT/model.safetensors, a final
    model trained on every subject for the same fixed epoch count.
    """
    from mmnet_edge.cli.options import require_extra, require_train_extra

    require_train_extra("train", ("torch",))
    if o["executor"] == "ray":
        require_extra("train --executor ray", "ray", ("ray",))
    from dataclasses import replace

    from mmnet_edge.synth import SyntheticConfig
    from mmnet_edge.train import AugmentConfig, TrainConfig
    from mmnet_edge.train import train as run_train
    from mmnet_edge.train.config import default_synthetic
    from mmnet_edge.train.sweep import load_grid

    augment = AugmentConfig()
    if o["no_augment"]:
        augment = replace(augment, flip_p=0.0, rotation_deg=0.0, crop_padding=0)
    if o["no_temporal_jitter"]:
        augment = replace(augment, temporal_jitter=False)
    synthetic = None
    if o["dataset"] == "synthetic":
        base = default_synthetic(int(o["seed"]))  # type: ignore[arg-type]
        changes = {
            k: o[f"synthetic_{n}"]
            for k, n in (
                ("subjects", "subjects"),
                ("samples_per_class", "per_class"),
                ("image_size", "size"),
                ("seed", "seed"),
            )
            if o[f"synthetic_{n}"] is not None
        }
        synthetic = replace(base, **changes) if changes else base
        assert isinstance(synthetic, SyntheticConfig)
    cfg = TrainConfig(
        dataset=str(o["dataset"]),
        root=o["root"],  # type: ignore[arg-type]
        classes=o["classes"],  # type: ignore[arg-type]
        model=str(o["model"]),
        recipe_name=o["recipe"],  # type: ignore[arg-type]
        protocol=o["protocol"],  # type: ignore[arg-type]
        output=o["output"],  # type: ignore[arg-type]
        epochs=o["epochs"],  # type: ignore[arg-type]
        lr=o["lr"],  # type: ignore[arg-type]
        weight_decay=o["weight_decay"],  # type: ignore[arg-type]
        batch_size=o["batch_size"],  # type: ignore[arg-type]
        gamma=o["gamma"],  # type: ignore[arg-type]
        decay_epochs=o["decay_epochs"],  # type: ignore[arg-type]
        seed=int(o["seed"]),  # type: ignore[arg-type]
        device=str(o["device"]),
        amp=bool(o["amp"]),
        report_best_epoch=bool(o["report_best_epoch"]),
        max_folds=o["max_folds"],  # type: ignore[arg-type]
        holdout_fraction=float(o["holdout_fraction"]),  # type: ignore[arg-type]
        augment=augment,
        synthetic=synthetic,
        dataset_options={"layout": o["layout"]} if o["layout"] else {},
        final_model=not o["no_final_model"],
        resume=not o["no_resume"],
        num_workers=int(o["workers"]),  # type: ignore[arg-type]
        threads=o["threads"],  # type: ignore[arg-type]
        progress=not o["quiet"],
        executor=str(o["executor"]),
        address=o["address"],  # type: ignore[arg-type]
        gpus_per_fold=float(o["gpus_per_fold"]),  # type: ignore[arg-type]
        cpus_per_fold=o["cpus_per_fold"],  # type: ignore[arg-type]
        seeds=_seeds(o["seeds"]),  # type: ignore[arg-type]
        grid=load_grid(o["grid"]) if o["grid"] else (),  # type: ignore[arg-type]
    )
    if cfg.is_sweep:
        from mmnet_edge.train import sweep

        swept = sweep(cfg)
        click.echo(swept.markdown_path.read_text().split("\n", 4)[-1].rstrip())
        click.echo(f"summary: {swept.json_path}  {swept.markdown_path}")
        return
    result = run_train(cfg)
    r = result.report
    click.echo(
        f"{r['protocol']} on {r['dataset']['dataset']} ({r['n_test_samples']} test predictions, "
        f"{len(r['folds'])} folds, {r['epochs']} epochs, leakage-free): "
        f"accuracy {_fmt(r['accuracy'])}  UF1 {_fmt(r['uf1'])}  UAR {_fmt(r['uar'])}"
    )
    best = r.get("best_epoch")
    if best:
        click.echo(
            f"best-epoch [{best['label']}]: accuracy {_fmt(best['accuracy'])}  "
            f"UF1 {_fmt(best['uf1'])}  UAR {_fmt(best['uar'])}"
        )
    click.echo(f"report: {result.report_path}")
    if result.model_path:
        click.echo(f"final model: {result.model_path}")
