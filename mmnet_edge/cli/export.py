"""``mmnet-edge export``: checkpoint → ONNX (FP32/FP16/INT8 Q/DQ) → TensorRT engine.

Exit codes: 0 everything requested was written; 3 the ONNX files were written but the
engine could not be built here (no TensorRT or no CUDA device); 1 an error; 2 usage.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import click

EXIT_NO_ENGINE = 3


def _batch(value: str | None) -> tuple[int, int, int] | None:
    if value is None:
        return None
    parts = [int(v) for v in value.split(",")]
    if len(parts) == 1:
        parts = [1, parts[0], parts[0]]
    if len(parts) != 3:
        raise click.BadParameter("use --batch MIN,OPT,MAX (e.g. 1,4,8) or a single MAX")
    return parts[0], parts[1], parts[2]


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fp32", "precision", flag_value="fp32", help="FP32 engine.")
@click.option("--fp16", "precision", flag_value="fp16", help="FP16 (default for engines).")
@click.option("--int8", "precision", flag_value="int8", help="INT8 from calibrated Q/DQ models.")
@click.option(
    "--format", "fmt", type=click.Choice(["engine", "onnx"]), default="engine", show_default=True
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
@click.option("--workspace", type=int, default=None, help="Builder workspace (MiB).")
@click.option(
    "--timing-cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory of content-addressed timing caches.",
)
@click.option("--builder-optimization-level", type=click.IntRange(0, 5), default=None)
@click.option("--dla-core", type=int, default=None, help="Run on DLA core N (GPU fallback).")
@click.option("--hardware-compatibility", type=click.Choice(["ampere_plus"]), default=None)
@click.option("--version-compatible", is_flag=True, default=None)
@click.option("--opset", type=click.IntRange(17, 21), default=17, show_default=True)
@click.option("--no-validate", is_flag=True, help="Skip validation against PyTorch/FP32.")
@click.option(
    "--calib",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Calibration set (.npz) for --int8.",
)
@click.option(
    "--calib-method",
    type=click.Choice(["minmax", "entropy", "percentile"]),
    default="minmax",
    show_default=True,
)
def export(
    model,
    precision,
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
    no_validate,
    calib,
    calib_method,
) -> None:
    """Export MODEL (a .safetensors checkpoint, or an exported model.onnx) for deployment.

    Writes DIR/model.onnx (FP32) always, DIR/model.fp16.onnx for --fp16, and
    DIR/model.int8.onnx (TensorRT target) + DIR/model.int8-cpu.onnx (CPU target) for
    --int8; then, with --format engine, DIR/model.<precision>.engine + .engine.json.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from mmnet_edge.errors import BackendUnavailableError
    from mmnet_edge.export.tensorrt import EngineOptions

    console = Console(stderr=True)
    # ------------------------------------------------ options, checked before any work
    opts = EngineOptions()
    profile_raw = None
    if profile:
        from mmnet_edge.export.profiles import load_profile

        profile_raw, opts = load_profile(profile)
    if precision:
        opts.precision = precision
    elif not profile:
        opts.precision = "fp16" if fmt == "engine" else "fp32"
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
            setattr(opts, key, value)
    try:
        opts.validate()
    except Exception as exc:  # noqa: BLE001 - ExportError → usage error, before any work
        raise click.UsageError(str(exc)) from exc
    is_onnx = model.suffix.lower() == ".onnx"
    if output is None:
        if not is_onnx:
            raise click.UsageError("--output DIR is required when exporting a checkpoint")
        output = model.parent
    output.mkdir(parents=True, exist_ok=True)

    written: list[Path] = []

    def step(name: str):  # noqa: ANN202
        console.print(f"[bold]▸ {name}[/]")
        return time.perf_counter()

    def done(t0: float, detail: str = "") -> None:
        console.print(f"  done in {time.perf_counter() - t0:.1f} s {detail}")

    # ------------------------------------------------------------------ ONNX FP32
    if is_onnx:
        onnx_path = model
    else:
        from mmnet_edge.export.onnx import export_onnx, unsupported_by_tensorrt

        t0 = step("ONNX export (FP32) + checker + validation against PyTorch")
        res = export_onnx(model, output / "model.onnx", opset=opset, validate=not no_validate)
        onnx_path = res.path
        written.append(onnx_path)
        v = res.validation
        done(
            t0,
            f"(opset {res.opset}; "
            + (
                f"max abs err {v.max_abs_error:.2e}, rel {v.max_rel_error:.2e}, "
                f"atol {v.atol}, rtol {v.rtol})"
                if v
                else "validation skipped)"
            ),
        )
        bad = unsupported_by_tensorrt(onnx_path)
        if bad:
            console.print(f"[yellow]warning: ops not in TensorRT's parser list: {bad}[/]")

    # ------------------------------------------------------------ precision variants
    if (
        opts.precision == "fp16"
        and not (output / "model.fp16.onnx").exists()
        or (opts.precision == "fp16" and not is_onnx)
    ):
        from mmnet_edge.export.precision import export_fp16

        t0 = step("FP16 ONNX (FP32 I/O) + task-level check on held-out synthetic pairs")
        r16 = export_fp16(onnx_path, output / "model.fp16.onnx", validate=not no_validate)
        written.append(r16.path)
        a = r16.agreement
        done(
            t0,
            f"(top-1 agreement {a.top1_agreement:.3f}, max prob err {a.max_prob_error:.2e})"
            if a
            else "",
        )
    if opts.precision == "int8" and (not is_onnx or not (output / "model.int8.onnx").exists()):
        try:
            from mmnet_edge.calibration.quantize import quantize_int8
        except ImportError as exc:
            raise click.ClickException(f"INT8 quantization is unavailable: {exc}") from exc
        t0 = step("INT8 Q/DQ models (TensorRT target: symmetric S8S8; CPU target: U8S8)")
        results = quantize_int8(onnx_path, calib, output, method=calib_method)
        for r in results:
            written.append(Path(r.path))
        done(t0)

    # ------------------------------------------------------------------ TensorRT
    exit_code = 0
    if fmt == "engine":
        from mmnet_edge.export.tensorrt import build_engine

        t0 = step(f"TensorRT engine ({opts.precision}, batch {opts.batch})")
        engine_path = output / f"model.{opts.precision}.engine"
        try:
            eng = build_engine(onnx_path, engine_path, opts)
        except BackendUnavailableError as exc:
            console.print(f"[yellow]engine not built:[/] {escape(str(exc))}")
            exit_code = EXIT_NO_ENGINE
        else:
            written += [eng.path, eng.sidecar]
            done(
                t0,
                f"(TensorRT {eng.manifest['tensorrt_version']}, {eng.manifest['gpu'].get('name')})",
            )

    # ------------------------------------------------------------------- summary
    table = Table(title="mmnet-edge export: files written")
    table.add_column("file")
    table.add_column("size", justify="right")
    for p in written:
        table.add_row(str(p), f"{p.stat().st_size / 1e6:.2f} MB")
    Console().print(table)
    if profile_raw:
        click.echo(f"profile: {profile} — {profile_raw.get('description', '')}")
    target = next((p for p in written if p.suffix == ".engine"), onnx_path)
    click.echo("next:")
    click.echo(f"  mmnet-edge bench {shlex.quote(str(target))} --batch 1,8")
    click.echo(f"  mmnet-edge predict {shlex.quote(str(target))} ONSET.jpg APEX.jpg")
    if exit_code:
        raise click.exceptions.Exit(exit_code)
