"""``mmnet-edge bench MODEL...``: latency, throughput and memory per backend × precision × batch."""

from __future__ import annotations

import time
from pathlib import Path

import click

from mmnet_edge.cli.numbers import FRACTION, NON_NEGATIVE_INT, POSITIVE_FLOAT, POSITIVE_INT
from mmnet_edge.compare import AGREEMENT_GATE


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _batches(value: str) -> list[int]:
    try:
        return [int(b) for b in _csv(value)]
    except ValueError as exc:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from exc


@click.command()
@click.argument(
    "models", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--backend",
    default="torch,onnxruntime,openvino,tensorrt",
    show_default=True,
    help="Comma-separated backends (torch, onnxruntime/ort, openvino/ov, tensorrt/trt).",
)
@click.option(
    "--precision",
    default="fp32,bf16,fp16,int8",
    show_default=True,
    help="Comma-separated: fp32, bf16 (the FP32 file in bfloat16: OpenVINO/torch on CPUs with "
    "avx512_bf16/AMX), fp16, int8. A combination a backend or CPU cannot run is listed as "
    "skipped with the reason.",
)
@click.option("--batch", default="1", show_default=True, help="Comma-separated batch sizes.")
@click.option(
    "--warmup", type=NON_NEGATIVE_INT, default=5, show_default=True, help="Unmeasured calls."
)
@click.option(
    "--iters",
    type=POSITIVE_INT,
    default=None,
    help="Measured rounds per case [default: 50 unless --seconds is given].",
)
@click.option(
    "--seconds", type=POSITIVE_FLOAT, default=None, help="Stop measuring after S seconds."
)
@click.option(
    "--threads", type=POSITIVE_INT, default=None, help="CPU threads for torch / ORT / OpenVINO."
)
@click.option("--device", default=None, help="cpu or cuda[:N] (default: best available).")
@click.option("--cuda-graph", is_flag=True, help="Also measure torch/TensorRT with CUDA graphs.")
@click.option("--stages", is_flag=True, help="Also split decode/align/preprocess/infer/post.")
@click.option("--detector", default=None, help="YuNet model for --stages alignment.")
@click.option(
    "--baseline", default=None, help="BACKEND[:PRECISION] for the ratio column (default: first)."
)
@click.option(
    "--gate",
    type=FRACTION,
    default=AGREEMENT_GATE,
    show_default=True,
    help="Top-1 agreement with FP32 a case needs on each gate set to be recommended.",
)
@click.option(
    "--agreement-pairs",
    type=NON_NEGATIVE_INT,
    default=160,
    show_default=True,
    help="Pairs of each of the three held-out gate sets for the agreement column (0: skip).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where a lone checkpoint's ONNX/INT8 exports are cached "
    "[default: $MMNET_EDGE_CACHE_DIR/bench, else ~/.cache/mmnet-edge/bench].",
)
@click.option(
    "--calib",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Calibration set (.npz) for the cached INT8 exports [default: synthetic].",
)
@click.option(
    "--calib-method",
    type=click.Choice(["minmax", "entropy", "percentile"]),
    default="minmax",
    show_default=True,
    help="Calibration method for the cached INT8 exports (minmax: least memory).",
)
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
    cuda_graph,
    stages,
    detector,
    baseline,
    gate,
    agreement_pairs,
    cache_dir,
    calib,
    calib_method,
    json_path,
    md_path,
    png_path,
) -> None:
    """Latency percentiles, throughput, roofline GFLOP/s and memory for each backend ×
    precision × batch, measured interleaved so drift hits every case alike.

    MODELS: a checkpoint and/or ONNX file (its .fp16/.int8/.int8-cpu siblings are used for
    those precisions) and/or a TensorRT engine. A checkpoint alone is exported to ONNX and
    INT8 into a cache (reused on the next call). Unavailable combinations are reported as
    skipped with the reason. Each case's top-1 agreement with FP32 is measured, and the
    report ends with the recommended backend × precision. Ctrl-C stops early and still
    writes the partial results.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mmnet_edge.artifacts.files import atomic_write_text, check_writable
    from mmnet_edge.bench import RunSettings, run_benchmark
    from mmnet_edge.bench.report import to_markdown, write_json, write_plot

    for out in (json_path, md_path, png_path):  # fail now, not after a long benchmark
        if out is not None:
            check_writable(out)

    settings = RunSettings(
        warmup=warmup,
        iters=iters if iters is not None else (None if seconds else 50),
        seconds=seconds,
        threads=threads,
        cuda_graph=cuda_graph,
        agreement_pairs=agreement_pairs,
    )
    columns = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, transient=True) as progress:
        total = settings.iters if settings.iters else settings.seconds
        task = progress.add_task("benchmarking", total=total, info="opening + warm-up")
        start: list[float] = []

        def tick(done: int, _total: int) -> None:
            if not start:
                start.append(time.perf_counter())
            elapsed = time.perf_counter() - start[0]
            by_time = settings.seconds is not None and (
                settings.iters is None or elapsed / settings.seconds > done / settings.iters
            )
            if by_time:
                progress.update(task, total=settings.seconds, completed=min(elapsed, total or 0))
            else:
                progress.update(task, total=settings.iters, completed=done)
            progress.update(task, info=f"round {done}")

        report = run_benchmark(
            models,
            _csv(backend),
            _csv(precision),
            _batches(batch),
            settings,
            stages=stages,
            detector=detector,
            baseline=baseline,
            device=device,
            on_progress=tick,
            gate=gate,
            cache_dir=cache_dir,
            calib=calib,
            calib_method=calib_method,
            on_message=lambda m: progress.console.print(
                m, markup=False, highlight=False, soft_wrap=True
            ),
        )
    md = to_markdown(report)
    if json_path:
        write_json(report, json_path)
    if md_path:
        atomic_write_text(md_path, md)
    if png_path:
        write_plot(report, png_path)
    click.echo(md)
    if not report["complete"]:
        click.echo("Interrupted: partial results written.", err=True)
        raise click.exceptions.Exit(130)
