"""``mmnet-edge align IN... --out DIR``: aligned crops for a pair, folders or videos."""

from __future__ import annotations

from pathlib import Path

import click

from mmnet_edge.cli.numbers import IMAGE_SIZE, NON_NEGATIVE_FLOAT, NON_NEGATIVE_INT


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option("--detector", default=None, help="YuNet model path (else env / cache dir).")
@click.option(
    "--size", type=IMAGE_SIZE, default=224, show_default=True, help="Output crop size (px)."
)
@click.option(
    "--margin",
    type=NON_NEGATIVE_FLOAT,
    default=0.25,
    show_default=True,
    help="Border around the face.",
)
@click.option(
    "--reference", type=int, default=0, show_default=True, help="Frame the crop is fit on."
)
@click.option("--policy", type=click.Choice(["largest", "central", "score"]), default="largest")
@click.option(
    "--min-face", type=NON_NEGATIVE_INT, default=48, show_default=True, help="Smallest face (px)."
)
@click.option(
    "--refine",
    type=NON_NEGATIVE_INT,
    default=2,
    show_default=True,
    help="Refinement passes (0: fastest).",
)
@click.option("--overwrite", is_flag=True, help="Redo clips even if cached crops exist.")
def align(
    inputs: tuple[Path, ...],
    out_dir: Path,
    detector: str | None,
    size: int,
    margin: float,
    reference: int,
    policy: str,
    min_face: int,
    refine: int,
    overwrite: bool,
) -> None:
    """Align faces with ONE transform per clip (fitted on the reference frame).

    INPUTS: two images (onset apex), folders of frames (one clip each) or video files.
    Crops go to DIR/<clip>/ as PNG (RGB content, standard PNG colour). A clip whose
    crops were made with the same settings from the same files is skipped (cache);
    DIR/<clip>/align.json records the settings and the transform.
    """
    from mmnet_edge.align.to_disk import align_to_disk

    result = align_to_disk(
        inputs,
        out_dir,
        detector=detector,
        size=size,
        margin=margin,
        reference=reference,
        policy=policy,  # type: ignore[arg-type]
        min_face=min_face,
        refine=refine,
        overwrite=overwrite,
        progress=True,
    )
    if result.all_cached:
        click.echo(
            f"all {len(result.clips)} clip(s) already aligned in {out_dir} (--overwrite to redo)"
        )
    else:
        click.echo(f"wrote {result.written} aligned crops to {out_dir}")
