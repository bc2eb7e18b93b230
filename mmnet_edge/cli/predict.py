"""``mmnet-edge predict MODEL ONSET APEX`` or ``mmnet-edge predict MODEL VIDEO|FOLDER``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mmnet_edge.cli.options import runtime_options


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@runtime_options
@click.option(
    "--recommendation",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="With --backend auto: follow a `mmnet-edge bench --json` result for this model.",
)
@click.option("--probe", is_flag=True, help="With --backend auto: time the CPU candidates first.")
@click.option(
    "--onset-index",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Onset frame of a clip.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def predict(
    model,
    inputs,
    runtime,
    onset_index,  # noqa: ANN001
    as_json,
    recommendation,
    probe,
) -> None:
    """Classify a micro-expression: an ONSET APEX image pair, or a clip (video file or
    folder of frames) whose apex is spotted automatically."""
    from mmnet_edge.errors import InputError
    from mmnet_edge.io import IMAGE_SUFFIXES
    from mmnet_edge.runtime.runtime import Runtime

    with Runtime(
        model,
        **runtime,
        **({"recommendation": recommendation} if recommendation else {}),
        **({"probe": True} if probe else {}),
    ) as rt:
        if len(inputs) == 2 and all(p.suffix.lower() in IMAGE_SUFFIXES for p in inputs):
            pred = rt.predict(inputs[0], inputs[1])
        elif len(inputs) == 1:  # a video file or a folder of frames, read one at a time
            pred = rt.predict_clip(inputs[0], onset_index=onset_index)
        else:
            raise InputError("give ONSET APEX images, one video file, or one folder of frames")
        result = {"model": str(model), "backend": rt.backend, **pred.to_dict()}
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result['label']}  ({pred.confidence:.1%}) — backend {result['backend']}")
    table.add_column("class")
    table.add_column("probability", justify="right")
    for name, p in sorted(pred.probabilities.items(), key=lambda kv: -kv[1]):
        table.add_row(name, f"{p:.3f}")
    console = Console()
    console.print(table)
    if "apex_index" in result:
        console.print(f"onset frame {result['onset_index']}, apex frame {result['apex_index']}")
        if result.get("partial"):
            console.print(
                f"[yellow]partial video: {result['frames_analysed']} of the "
                f"{result['frames_declared']} frames its container declares were decoded; the "
                "rest is not in this result[/]"
            )
    console.print("timings (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in pred.timings_ms.items()))
