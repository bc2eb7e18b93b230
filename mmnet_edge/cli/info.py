"""``mmnet-edge info PATH``."""

from __future__ import annotations

import json
from pathlib import Path

import click


def describe(path: Path) -> dict[str, object]:
    """Describe a checkpoint, ONNX file (any variant) or TensorRT engine (no torch needed)."""
    from mmnet_edge.artifacts import describe as describe_artifact

    return describe_artifact(path)


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def info(path: Path, as_json: bool) -> None:
    """Show what a checkpoint, ONNX model or TensorRT engine holds."""
    d = describe(path)
    if as_json:
        click.echo(json.dumps(d, indent=2, sort_keys=True, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{d.get('kind', 'model')}: {path}", show_header=False)
    for key, value in d.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, default=str)
        table.add_row(str(key), str(value))
    Console().print(table)
