"""``mmnet-edge align IN... --out DIR``: aligned crops for a pair, a folder or a video."""

from __future__ import annotations

from pathlib import Path

import click


def _inputs_to_jobs(inputs: tuple[Path, ...]) -> list[tuple[str, list[Path] | Path]]:
    from mmnet_edge.align.io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, list_images
    from mmnet_edge.errors import InputError

    if len(inputs) == 2 and all(p.suffix.lower() in IMAGE_SUFFIXES for p in inputs):
        return [("pair", list(inputs))]
    jobs: list[tuple[str, list[Path] | Path]] = []
    for p in inputs:
        if p.is_dir():
            jobs.append((p.name, list_images(p)))
        elif p.suffix.lower() in VIDEO_SUFFIXES:
            jobs.append((p.stem, p))
        else:
            raise InputError(f"{p}: give two images (a pair), folders of frames or video files")
    return jobs


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option("--detector", default=None, help="YuNet model path (else $MMNET_EDGE_FACE_DETECTOR).")
@click.option("--size", default=224, show_default=True, help="Output crop size (px).")
@click.option("--margin", default=0.25, show_default=True, help="Extra border around the face.")
@click.option("--reference", default=0, show_default=True, help="Frame index the crop is fit on.")
@click.option("--policy", type=click.Choice(["largest", "central", "score"]), default="largest")
@click.option("--overwrite", is_flag=True, help="Redo clips whose crops already exist.")
def align(inputs, out_dir, detector, size, margin, reference, policy, overwrite) -> None:  # noqa: ANN001
    """Align faces with ONE transform per clip (fit on the reference frame).

    INPUTS: two images (onset apex), folders of frames (one clip each) or video files.
    Finished clips are skipped unless --overwrite (results are cached on disk).
    """
    import cv2
    from tqdm import tqdm

    from mmnet_edge.align import Aligner, YuNetDetector
    from mmnet_edge.align.io import iter_video, read_image

    aligner = Aligner(YuNetDetector(detector), output_size=size, margin=margin, policy=policy)
    jobs = _inputs_to_jobs(inputs)
    written = 0
    for name, src in tqdm(jobs, desc="clips", unit="clip", disable=len(jobs) < 2):
        dest = out_dir / name
        done = dest / ".done"
        if done.exists() and not overwrite:
            continue
        dest.mkdir(parents=True, exist_ok=True)
        if isinstance(src, list):
            frames = [read_image(p) for p in tqdm(src, desc=f"read {name}", leave=False)]
            names = [p.stem for p in src]
        else:
            frames = list(iter_video(src))
            names = [f"{i:05d}" for i in range(len(frames))]
        clip = aligner.align_clip(frames, reference=reference, color="bgr")
        for fname, crop in zip(names, clip.frames):
            cv2.imwrite(str(dest / f"{fname}.png"), crop[:, :, ::-1])
            written += 1
        done.write_text(repr(clip.transform.matrix.tolist()))
    click.echo(f"wrote {written} aligned crops to {out_dir}")
