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
    from mmnet_edge.checkpoint import file_sha256, save_checkpoint
    from mmnet_edge.metadata import CASME2_CLASSES, ModelMetadata
    from mmnet_edge.model import MMNet, convert_reference_state_dict, load_reference_file

    conv = convert_reference_state_dict(load_reference_file(str(src)))
    if classes:
        names = tuple(c.strip() for c in classes.split(","))
    elif conv.config.num_classes == len(CASME2_CLASSES):
        names = CASME2_CLASSES
    else:
        names = tuple(f"class{i}" for i in range(conv.config.num_classes))
    model = MMNet(conv.config)
    model.load_state_dict(conv.state_dict, strict=True)
    meta = ModelMetadata(
        config=conv.config,
        class_names=names,
        source_checkpoint_sha256=file_sha256(src),
        training={"source": "authors' MMNet code", "converted_from": src.name},
    )
    save_checkpoint(model, meta, dst)
    if conv.dropped:
        click.echo(
            f"note: dropped {len(conv.dropped)} tensors unused by the forward pass: "
            + ", ".join(conv.dropped)
        )
    click.echo(f"wrote {dst} ({conv.config.num_classes} classes: {', '.join(names)})")
