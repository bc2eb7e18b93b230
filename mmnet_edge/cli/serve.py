"""``mmnet-edge serve``: a Triton server (NVIDIA PyTriton) over one model, until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import click

from mmnet_edge.cli.options import require_extra


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--http-port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--grpc-port", type=click.IntRange(1, 65535), default=8001, show_default=True)
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=8002, show_default=True)
@click.option(
    "--max-batch",
    type=click.IntRange(min=1),
    default=None,
    help="Dynamic batching limit [engine profile max, else 16].",
)
@click.option(
    "--queue-delay-us",
    type=click.IntRange(min=0),
    default=500,
    show_default=True,
    help="How long a request may wait for others to batch with (µs).",
)
@click.option(
    "--pair-instances",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Parallel decode+align workers of mmnet_pair (one face detector each).",
)
@click.option("--backend", default="auto", show_default=True, help="auto|onnxruntime|tensorrt|…")
@click.option("--device", default=None, help="cpu | cuda | cuda:N.")
@click.option("--precision", type=click.Choice(["fp32", "fp16", "int8"]), default=None)
@click.option(
    "--detector",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="YuNet face detector .onnx (alignment in mmnet_pair).",
)
@click.option("--no-align", is_flag=True, help="mmnet_pair takes pre-aligned face crops.")
@click.option("--triton-verbose", type=int, default=0, help="Triton log verbosity.")
def serve(
    model: Path,
    host: str,
    http_port: int,
    grpc_port: int,
    metrics_port: int,
    max_batch: int | None,
    queue_delay_us: int,
    pair_instances: int,
    backend: str,
    device: str | None,
    precision: str | None,
    detector: str | None,
    no_align: bool,
    triton_verbose: int,
) -> None:
    """Serve MODEL (.onnx, .engine, or a checkpoint) with Triton until Ctrl-C / SIGTERM.

    Models: mmnet (preprocessed tensors → logits, dynamic batching), mmnet_pair (raw onset/apex
    images → label, probabilities, face box; alignment on the server), mmnet_metadata.
    Health: GET /v2/health/ready (HTTP port); Prometheus metrics: METRICS_PORT/metrics.
    Client: mmnet_edge.serve.Client("grpc://HOST:GRPC_PORT").
    """
    require_extra("serve", "serve", ("pytriton", "tritonclient"))
    from mmnet_edge.serve.server import MMNetServer, ServeSettings

    settings = ServeSettings(
        host=host,
        http_port=http_port,
        grpc_port=grpc_port,
        metrics_port=metrics_port,
        max_batch=max_batch,
        queue_delay_us=queue_delay_us,
        pair_instances=pair_instances,
        backend=backend,
        device=device,
        precision=precision,
        align=not no_align,
        detector=detector,
        triton_log_verbose=triton_verbose,
    )
    server = MMNetServer(model, settings).start()
    d = server.describe()
    click.echo(
        f"serving {model.name} ({d['backend']}, max batch {d['max_batch']}, queue delay "
        f"{queue_delay_us} µs): models {', '.join(d['models'])}"
    )
    click.echo(f"  http {d['http']}  grpc {d['grpc']}  metrics {d['metrics']}")
    click.echo(f"  ready: curl {d['http']}/v2/health/ready   (Ctrl-C stops)", nl=True)
    server.wait()
    click.echo("server stopped")
