"""``mmnet-edge bench MODEL...``."""

from __future__ import annotations

from pathlib import Path

import click


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@click.command()
@click.argument(
    "models", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--backend",
    default="torch,onnxruntime,tensorrt",
    show_default=True,
    help="Comma-separated backends.",
)
@click.option("--precision", default="fp32,fp16,int8", show_default=True)
@click.option("--batch", default="1", show_default=True, help="Comma-separated batch sizes.")
@click.option("--warmup", default=5, show_default=True)
@click.option("--iters", default=50, show_default=True, help="Measured rounds per case.")
@click.option("--seconds", type=float, default=None, help="Stop measuring after S seconds.")
@click.option("--threads", type=int, default=None, help="CPU threads for torch / ORT.")
@click.option("--device", default=None, help="cpu or cuda (default: best available).")
@click.option("--stages", is_flag=True, help="Also measure decode/align/preprocess/infer/post.")
@click.option("--detector", default=None, help="YuNet model for --stages alignment.")
@click.option("--baseline", default=None, help="BACKEND[:PRECISION] for the ratio column.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None)
@click.option("--markdown", "md_path", type=click.Path(path_type=Path), default=None)
@click.option("--plot", "png_path", type=click.Path(path_type=Path), default=None)
def bench(
    models,
    backend,
    precision,
    batch,
    warmup,
    iters,
    seconds,
    threads,
    device,  # noqa: ANN001
    stages,
    detector,
    baseline,
    json_path,
    md_path,
    png_path,
) -> None:
    """Latency percentiles, throughput and memory for each backend × precision × batch.

    MODELS: a checkpoint and/or ONNX file (its .fp16/.int8/.int8-cpu siblings are used for
    those precisions) and/or a TensorRT engine. Ctrl-C stops early and writes partial results.
    """
    from rich.progress import Progress

    from mmnet_edge.bench import RunSettings, run_benchmark
    from mmnet_edge.bench.report import to_markdown, write_json, write_plot

    settings = RunSettings(
        warmup=warmup,
        iters=None if seconds and iters == 50 else iters,
        seconds=seconds,
        threads=threads,
    )
    with Progress(transient=True) as progress:
        task = progress.add_task("benchmarking", total=settings.iters or None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done)

        report = run_benchmark(
            models,
            _csv(backend),
            _csv(precision),
            [int(b) for b in _csv(batch)],
            settings,
            stages=stages,
            detector=detector,
            baseline=baseline,
            device=device,
            on_progress=tick,
        )
    md = to_markdown(report)
    if json_path:
        write_json(report, json_path)
    if md_path:
        md_path.parent.mkdir(parents=True, exist_ok=True)
        md_path.write_text(md)
    if png_path:
        write_plot(report, png_path)
    click.echo(md)
    if not report["complete"]:
        raise click.exceptions.Exit(130)
