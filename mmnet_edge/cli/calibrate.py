"""``mmnet-edge calibrate build|report``."""

from __future__ import annotations

from pathlib import Path

import click

from mmnet_edge.cli.numbers import FRACTION


@click.group()
def calibrate() -> None:
    """Build INT8 calibration sets and measure INT8/FP16 accuracy against FP32."""


@calibrate.command()
@click.argument("source")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CALIB.npz (a CALIB.json manifest is written beside it).",
)
@click.option(
    "--size",
    "input_size",
    type=click.IntRange(min=16),
    default=None,
    help="Model input size (default: from --model, else 224).",
)
@click.option(
    "--model",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Checkpoint/ONNX whose preprocessing to use.",
)
@click.option("--dataset", default=None, help="SOURCE is a dataset root of this reader.")
@click.option("--classes", default=None, help="Class map for --dataset.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=256, show_default=True, help="Maximum pairs."
)
@click.option(
    "--align/--no-align",
    default=None,
    help="Align raw frames (default: on for pairs/videos, off for dataset crops).",
)
@click.option("--detector", default=None, help="YuNet model path.")
@click.option(
    "--subjects",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="For SOURCE=synthetic.",
)
@click.option(
    "--per-class",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="For SOURCE=synthetic.",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
def build(
    source,
    output,
    input_size,
    model,
    dataset,
    classes,
    limit,
    align,
    detector,  # noqa: ANN001
    subjects,
    per_class,
    seed,
) -> None:
    """Build a calibration set from SOURCE: `synthetic`, a dataset root (--dataset NAME), a
    folder of *onset*/*apex* image pairs, or video files (comma-separated; apex spotted)."""
    from mmnet_edge.calibration.sources import build_set

    cs = build_set(
        source,
        output,
        input_size=input_size,
        model=model,
        dataset=dataset,
        classes=classes,
        limit=limit,
        align=align,
        detector=detector,
        subjects=subjects,
        per_class=per_class,
        seed=seed,
    )
    click.echo(
        f"wrote {output} ({len(cs)} pairs, {cs.input_size}px, classes "
        f"{cs.manifest['class_histogram']}, sha256 {cs.manifest['sha256'][:12]}…)"
    )


@calibrate.command()
@click.option("--fp32", "fp32", required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--int8",
    "int8",
    multiple=True,
    type=click.Path(path_type=Path),
    help="INT8 model(s) (default: model.int8.onnx and model.int8-cpu.onnx beside --fp32).",
)
@click.option("--fp16", "fp16", type=click.Path(path_type=Path), default=None)
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Held-out set (.npz from `calibrate build`), labelled for UF1/UAR.",
)
@click.option(
    "--calib",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Calibration set for the per-layer sensitivity (default: --data).",
)
@click.option("--no-sensitivity", is_flag=True, help="Skip the per-layer analysis.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None)
@click.option("--markdown", "md_path", type=click.Path(path_type=Path), default=None)
@click.option(
    "--max-uf1-drop",
    type=FRACTION,
    default=None,
    help="Exit non-zero when an INT8 model loses more UF1 than this.",
)
def report(
    fp32,
    int8,
    fp16,
    data,
    calib,
    no_sensitivity,
    json_path,
    md_path,  # noqa: ANN001
    max_uf1_drop,
) -> None:
    """FP32 vs FP16 vs INT8: agreement, probability error, accuracy/UF1/UAR deltas."""
    from mmnet_edge.calibration.report import run_report

    run = run_report(
        fp32,
        data,
        int8=int8,
        fp16=fp16,
        calib=calib,
        sensitivity=not no_sensitivity,
        json_path=json_path,
        md_path=md_path,
        max_uf1_drop=max_uf1_drop,
    )
    click.echo(run.markdown)
    run.check()
