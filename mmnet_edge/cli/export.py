"""``mmnet-edge export``: argument handling → :func:`mmnet_edge.export.export_model` → summary.

Exit codes: 0 everything requested was written; 3 the ONNX files were written but the
engine could not be built here (no TensorRT or no CUDA device); 1 an error; 2 usage.
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mmnet_edge.cli.numbers import NON_NEGATIVE_INT, POSITIVE_INT
from mmnet_edge.cli.options import require_train_extra

if TYPE_CHECKING:
    from mmnet_edge.export.pipeline import ExportResult, ExportSettings


def _defaults():  # noqa: ANN202 - ExportSettings, imported lazily (keeps --help fast)
    from mmnet_edge.export.pipeline import ExportSettings

    return ExportSettings()


def _batch(value: str | None) -> tuple[int, int, int] | None:
    if value is None:
        return None
    try:
        parts = [int(v) for v in value.split(",")]
    except ValueError as exc:
        raise click.BadParameter("use --batch MIN,OPT,MAX (e.g. 1,4,8) or a single MAX") from exc
    if len(parts) == 1:
        parts = [1, parts[0], parts[0]]
    if len(parts) != 3 or min(parts) < 1:
        raise click.BadParameter("use --batch MIN,OPT,MAX of positive numbers, or a single MAX")
    return parts[0], parts[1], parts[2]


def _precisions(fp32: bool, fp16: bool, int8: bool) -> list[str]:
    """The precision flags given, in the order they are built (fp32, fp16, int8)."""
    return [p for p, on in (("fp32", fp32), ("fp16", fp16), ("int8", int8)) if on]


def _settings_per_precision(
    settings: ExportSettings, precisions: list[str]
) -> list[ExportSettings]:
    """One validated copy of ``settings`` per precision; a combination one of them cannot
    build (``--dla-core`` with ``--fp32`` …) is a usage error before anything is written."""
    runs = [
        replace(settings, precision=p, engine=replace(settings.engine)) for p in precisions
    ] or [settings]
    for run in runs:
        try:
            run.validate_settings()
        except Exception as exc:  # noqa: BLE001 - bad option values are usage errors
            given = f" (with --{run.precision})" if len(runs) > 1 else ""
            raise click.UsageError(f"{exc}{given}") from exc
    return runs


def _merge(results: list[ExportResult], runs: list[ExportSettings]) -> ExportResult:
    """One result for the summary: the first run's, plus each later run's own steps (its
    FP32 ``onnx`` step is the first run's file, reused) and warnings not seen yet. With
    several precisions each engine step names its precision."""
    merged = results[0]
    merged.steps = list(merged.steps)
    for r in results[1:]:
        merged.steps += [st for st in r.steps if st.name != "onnx"]
        merged.warnings += [w for w in r.warnings if w not in merged.warnings]
        merged.engine_skipped = merged.engine_skipped or r.engine_skipped
    if len(runs) > 1:
        engines = iter(run.precision for run in runs)
        for st in merged.steps:
            if st.name == "engine":
                st.name = f"engine ({next(engines)})"
    return merged


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fp32", "want_fp32", is_flag=True, help="FP32 engine.")
@click.option("--fp16", "want_fp16", is_flag=True, help="FP16 (default for engines).")
@click.option("--int8", "want_int8", is_flag=True, help="INT8 from calibrated Q/DQ models.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["engine", "onnx", "triton"]),
    default="engine",
    show_default=True,
    help="triton: ONNX + a Triton model repository in DIR/triton (onnxruntime_onnx).",
)
@click.option(
    "--queue-delay-us",
    type=click.IntRange(min=0),
    default=500,
    show_default=True,
    help="--format triton: dynamic batching queue delay (µs).",
)
@click.option("--profile", default=None, help="Target profile name (export/profiles) or .toml.")
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory (default: next to an ONNX input; required for checkpoints).",
)
@click.option("--batch", default=None, help="Optimization profile MIN,OPT,MAX.")
@click.option("--workspace", type=POSITIVE_INT, default=None, help="Workspace (MiB).")
@click.option(
    "--timing-cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory of content-addressed timing caches.",
)
@click.option("--builder-optimization-level", type=click.IntRange(0, 5), default=None)
@click.option("--dla-core", type=NON_NEGATIVE_INT, default=None, help="DLA core N.")
@click.option("--hardware-compatibility", type=click.Choice(["ampere_plus"]), default=None)
@click.option("--version-compatible", is_flag=True, default=None)
@click.option("--opset", type=click.IntRange(17, 21), default=17, show_default=True)
@click.option(
    "--decompose-layernorm",
    is_flag=True,
    help="Write LayerNorm as elementary ops (for TensorRT 8.5 / JetPack 5, see docs/jetson.md).",
)
@click.option("--no-validate", is_flag=True, help="Skip validation against PyTorch/FP32.")
@click.option("--force", is_flag=True, help="Rebuild variants even if they match their source.")
@click.option(
    "--calib",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Calibration set (.npz) for --int8.",
)
@click.option(
    "--calib-method",
    type=click.Choice(["minmax", "entropy", "percentile"]),
    default=None,
    help="INT8 calibration method [default: percentile].",
)
def export(
    model,
    want_fp32,
    want_fp16,
    want_int8,
    fmt,
    profile,
    output,
    batch,
    workspace,
    timing_cache,  # noqa: ANN001
    builder_optimization_level,
    dla_core,
    hardware_compatibility,
    version_compatible,
    opset,
    decompose_layernorm,
    no_validate,
    force,
    calib,
    calib_method,
    queue_delay_us,
) -> None:
    """Export MODEL (a .safetensors checkpoint, or an exported model.onnx) for deployment.

    Writes DIR/model.onnx (FP32) for a checkpoint, <stem>.fp16.onnx for --fp16, and
    <stem>.int8.onnx (TensorRT target), <stem>.int8-cpu.onnx (ONNX Runtime CPU target) and
    <stem>.int8-openvino.onnx (OpenVINO CPU target) for --int8;
    then, with --format engine, <stem>.<precision>.engine + .engine.json. Existing
    variants are reused only if made from the same FP32 file with the same settings.
    Several precision flags (--fp16 --int8) build each of them, from one FP32 file.
    """
    precisions = _precisions(want_fp32, want_fp16, want_int8)
    if fmt == "triton" and len(precisions) > 1:
        raise click.UsageError(
            "--format triton writes one model repository: give one precision flag"
        )
    if not (fmt == "triton" and model.suffix.lower() in (".engine", ".plan")):
        require_train_extra("export")  # an engine's repository needs no torch
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from mmnet_edge.export.pipeline import export_model

    settings = _defaults()
    if profile:
        from mmnet_edge.export.profiles import load_profile

        profile_raw, settings.engine = load_profile(profile)
    settings.precision = (
        precisions[0]
        if precisions
        else (settings.engine.precision if profile else ("fp16" if fmt == "engine" else "fp32"))
    )
    overrides = {
        "batch": _batch(batch),
        "workspace_mib": workspace,
        "timing_cache_dir": timing_cache,
        "builder_optimization_level": builder_optimization_level,
        "dla_core": dla_core,
        "hardware_compatibility": hardware_compatibility,
        "version_compatible": version_compatible,
    }
    for key, value in overrides.items():
        if value is not None:
            setattr(settings.engine, key, value)
    settings.fmt = fmt
    if fmt == "triton":
        settings.triton_max_batch = settings.engine.batch[2] if batch else None
        settings.triton_queue_delay_us = queue_delay_us
    settings.opset, settings.validate = opset, not no_validate
    settings.force, settings.calib = force, calib
    settings.decompose_layernorm = decompose_layernorm
    if calib_method:
        settings.calib_method = calib_method
    runs = _settings_per_precision(settings, precisions)
    if output is None and model.suffix.lower() not in (".onnx", ".engine", ".plan"):
        raise click.UsageError("--output DIR is required when exporting a checkpoint")

    console = Console(stderr=True)

    def step(name: str) -> None:
        console.print(f"[bold]▸ {name}[/]")

    results = [export_model(model, output, runs[0], on_step=step)]
    for run in runs[1:]:  # from the FP32 file the first run wrote or reused
        first = results[0].onnx
        results.append(export_model(first, output or first.parent, run, on_step=step))
    result = _merge(results, runs)
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    table = Table(title="mmnet-edge export")
    for col in ("step", "status", "files", "time", "detail"):
        table.add_column(col)
    for st in result.steps:
        table.add_row(
            st.name,
            st.status,
            "\n".join(str(p) for p in st.paths),
            f"{st.seconds:.1f} s",
            escape(st.detail),
        )
    Console().print(table)
    repo = result.triton
    if repo is not None:
        click.echo(f"triton repository: {repo.root} ({repo.platform}, max batch {repo.max_batch})")
        click.echo(
            f"  docker run --rm -p8000:8000 -p8001:8001 -p8002:8002 -v {repo.root}:/models \\"
        )
        click.echo(
            "    nvcr.io/nvidia/tritonserver:<yy.mm>-py3 tritonserver --model-repository=/models"
        )
        return
    if profile:
        click.echo(f"profile: {profile} — {profile_raw.get('description', '')}")
    engines = [r.engine for r in results if r.engine is not None]
    targets = engines or [result.onnx]
    click.echo("next:")
    click.echo(f"  mmnet-edge bench {' '.join(shlex.quote(str(t)) for t in targets)} --batch 1,8")
    click.echo(f"  mmnet-edge predict {shlex.quote(str(targets[0]))} ONSET.jpg APEX.jpg")
    if result.engine_skipped:
        console.print(f"[yellow]engine not built:[/] {escape(result.engine_skipped)}")
        raise click.exceptions.Exit(result.exit_code)
