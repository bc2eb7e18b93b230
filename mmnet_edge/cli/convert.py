"""``mmnet-edge convert-weights IN.pth OUT.safetensors``."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("convert-weights")
@click.argument("src", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("dst", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--classes", default=None, help="Comma-separated class names (default: CASME II 5).")
def convert_weights(src: Path, dst: Path, classes: str | None) -> None:
    """Convert an authors'-code MMNet state dict (.pth) to a mmnet-edge checkpoint.

    The file is read with torch.load(weights_only=True): pickled code is refused.
    """
    from mmnet_edge.checkpoint import convert_reference_weights

    names = [c for c in classes.split(",") if c.strip()] if classes else None
    res = convert_reference_weights(src, dst, names)
    if res.dropped:
        click.echo(
            f"note: dropped {len(res.dropped)} tensors unused by the forward pass: "
            + ", ".join(res.dropped)
        )
    meta = res.metadata
    click.echo(
        f"wrote {res.path} ({meta.config.num_classes} classes: {', '.join(meta.class_names)})"
    )
