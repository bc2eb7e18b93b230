"""``mmnet-edge demo``: the main job on the synthetic set (README's first command)."""

from __future__ import annotations

from pathlib import Path

import click

from mmnet_edge.cli.numbers import POSITIVE_INT


@click.command()
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/demo"),
    show_default=True,
)
@click.option(
    "--subjects",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Synthetic subjects (LOSO folds).",
)
@click.option(
    "--per-class",
    type=POSITIVE_INT,
    default=8,
    show_default=True,
    help="Pairs per class per subject.",
)
@click.option(
    "--epochs", type=POSITIVE_INT, default=None, help="Override the tiny recipe's epochs."
)
@click.option("--bench-iters", type=POSITIVE_INT, default=50, show_default=True)
@click.option("--detector", default=None, help="YuNet model (else $MMNET_EDGE_FACE_DETECTOR).")
def demo(output, subjects, per_class, epochs, bench_iters, detector) -> None:  # noqa: ANN001
    """Train → export → INT8 → accuracy report → bench → predict, on synthetic data."""
    from mmnet_edge.demo import DemoSettings, print_summary, run_demo

    res = run_demo(
        DemoSettings(
            output=output,
            subjects=subjects,
            per_class=per_class,
            epochs=epochs,
            bench_iters=bench_iters,
            detector=detector,
        )
    )
    print_summary(res)
