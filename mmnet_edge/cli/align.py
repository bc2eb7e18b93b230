"""``mmnet-edge align IN... --out DIR``: aligned crops for a pair, folders or videos."""

from __future__ import annotations

import json
from pathlib import Path

import click

MANIFEST = "align.json"


def _jobs(inputs: tuple[Path, ...]) -> list[tuple[str, list[Path] | Path]]:
    from mmnet_edge.align.io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, list_images
    from mmnet_edge.errors import InputError

    if len(inputs) == 2 and all(p.suffix.lower() in IMAGE_SUFFIXES for p in inputs):
        return [("pair", list(inputs))]
    jobs: list[tuple[str, list[Path] | Path]] = []
    for p in inputs:
        if p.is_dir():
            files = list_images(p)
            if not files:
                raise InputError(f"{p}: no image files ({', '.join(IMAGE_SUFFIXES)})")
            jobs.append((p.name, files))
        elif p.suffix.lower() in VIDEO_SUFFIXES:
            jobs.append((p.stem, p))
        else:
            raise InputError(f"{p}: give two images (onset apex), folders of frames or video files")
    names = [n for n, _ in jobs]
    if len(set(names)) != len(names):
        raise InputError(f"two inputs would write to the same folder: {names}")
    return jobs


def _source_signature(src: list[Path] | Path) -> list[list[object]]:
    files = src if isinstance(src, list) else [src]
    return [[p.name, p.stat().st_size, int(p.stat().st_mtime)] for p in files]


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option("--detector", default=None, help="YuNet model path (else env / cache dir).")
@click.option("--size", default=224, show_default=True, help="Output crop size (px).")
@click.option("--margin", default=0.25, show_default=True, help="Border around the face.")
@click.option("--reference", default=0, show_default=True, help="Frame the crop is fit on.")
@click.option("--policy", type=click.Choice(["largest", "central", "score"]), default="largest")
@click.option("--min-face", default=48, show_default=True, help="Smallest face (px).")
@click.option("--refine", default=2, show_default=True, help="Refinement passes (0: fastest).")
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
    import cv2
    from tqdm import tqdm

    from mmnet_edge.align import Aligner, YuNetDetector
    from mmnet_edge.align.io import count_frames, iter_video, read_image
    from mmnet_edge.errors import InputError

    jobs = _jobs(inputs)
    settings = {
        "size": size,
        "margin": margin,
        "reference": reference,
        "policy": policy,
        "min_face": min_face,
        "refine": refine,
    }
    todo = []
    for name, src in jobs:
        manifest = out_dir / name / MANIFEST
        wanted = {"settings": settings, "source": _source_signature(src)}
        if manifest.is_file() and not overwrite:
            try:
                old = json.loads(manifest.read_text())
            except (OSError, ValueError):
                old = {}
            if all(old.get(k) == v for k, v in wanted.items()):
                continue
        todo.append((name, src, wanted))
    if not todo:
        click.echo(f"all {len(jobs)} clip(s) already aligned in {out_dir} (--overwrite to redo)")
        return

    aligner = Aligner(
        YuNetDetector(detector),
        output_size=size,
        margin=margin,
        policy=policy,  # type: ignore[arg-type]
        min_face=min_face,
        refine=refine,
    )
    total = sum(len(s) if isinstance(s, list) else (count_frames(s) or 0) for _, s, _ in todo)
    written = 0
    with tqdm(total=total or None, desc="align", unit="frame") as bar:
        for name, src, wanted in todo:
            dest = out_dir / name
            dest.mkdir(parents=True, exist_ok=True)
            (dest / MANIFEST).unlink(missing_ok=True)  # incomplete until rewritten
            if isinstance(src, list):
                if not -len(src) <= reference < len(src):
                    raise InputError(f"{name}: --reference {reference} outside 0..{len(src) - 1}")
                stems = [p.stem for p in src]
                if len(set(stems)) != len(stems):  # e.g. onset and apex with one file name
                    stems = [f"{i:05d}_{s}" for i, s in enumerate(stems)]
                frames = ((s, read_image(p)) for s, p in zip(stems, src))
                transform = aligner.fit(read_image(src[reference]), "bgr")
            else:  # stream the video twice: find the reference, then warp every frame
                ref = next((f for i, f in enumerate(iter_video(src)) if i == reference), None)
                if ref is None:
                    raise InputError(f"{src}: --reference {reference} is past the last frame")
                transform = aligner.fit(ref, "bgr")
                frames = ((f"{i:05d}", f) for i, f in enumerate(iter_video(src)))
            shape = None
            for stem, frame in frames:
                if shape is None:
                    shape = frame.shape[:2]
                elif frame.shape[:2] != shape:
                    raise InputError(f"{name}/{stem}: frame size differs from the clip's")
                crop = aligner.warp(frame, transform, "bgr")
                cv2.imwrite(str(dest / f"{stem}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
                written += 1
                bar.update(1)
            record = {**wanted, "transform": transform.to_dict()}
            (dest / MANIFEST).write_text(json.dumps(record, indent=1))
    click.echo(f"wrote {written} aligned crops to {out_dir}")
