"""``mmnet-edge calibrate build|report``."""

from __future__ import annotations

from pathlib import Path

import click


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
    type=int,
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
@click.option("--limit", default=256, show_default=True, help="Maximum pairs.")
@click.option(
    "--align/--no-align",
    default=None,
    help="Align raw frames (default: on for pairs/videos, off for dataset crops).",
)
@click.option("--detector", default=None, help="YuNet model path.")
@click.option("--subjects", default=5, show_default=True, help="For SOURCE=synthetic.")
@click.option("--per-class", default=8, show_default=True, help="For SOURCE=synthetic.")
@click.option("--seed", default=0, show_default=True)
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
    from mmnet_edge.calibration import dataset as d

    if model is not None and input_size is None:
        if model.suffix == ".onnx":
            from mmnet_edge.export.onnx import read_onnx_metadata

            input_size = read_onnx_metadata(model).input_size
        else:
            from mmnet_edge.checkpoint import read_metadata

            input_size = read_metadata(model).input_size
    size = input_size or 224
    if source == "synthetic":
        cs = d.from_synthetic(size, subjects, per_class, seed)
    elif dataset:
        cs = d.from_dataset(dataset, source, size, classes, limit, bool(align), detector, seed)
    elif Path(source).is_dir():
        cs = d.from_pair_folder(source, size, align is not False, detector)
    else:
        cs = d.from_videos(source.split(","), size, align is not False, detector)
    d.save_calibration_set(cs, output)
    click.echo(
        f"wrote {output} ({len(cs)} pairs, {size}px, classes {cs.manifest['class_histogram']}"
        f", sha256 {cs.manifest['sha256'][:12]}…)"
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
    type=float,
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
    import json

    from mmnet_edge.calibration.report import accuracy_report, gate, to_markdown
    from mmnet_edge.errors import CalibrationError

    variants = {}
    int8 = int8 or tuple(
        p
        for p in (fp32.with_name("model.int8.onnx"), fp32.with_name("model.int8-cpu.onnx"))
        if p.exists()
    )
    int8_names = []
    for p in int8:
        name = p.name.removesuffix(".onnx").removeprefix("model.")
        name = name if name.startswith("int8") and name not in variants else f"int8:{p}"
        variants[name] = p
        int8_names.append(name)
    if fp16:
        variants["fp16"] = fp16
    rep = accuracy_report(fp32, variants, data, sensitivity=not no_sensitivity, calib=calib)
    md = to_markdown(rep)
    if json_path:
        json_path.write_text(json.dumps(rep, indent=2, sort_keys=True))
    if md_path:
        md_path.write_text(md)
    click.echo(md)
    if max_uf1_drop is not None:
        failed = []
        for name in int8_names:
            try:
                gate(rep, name, max_uf1_drop)
            except CalibrationError as exc:
                failed.append(str(exc))
        if failed:
            raise CalibrationError("; ".join(failed))
