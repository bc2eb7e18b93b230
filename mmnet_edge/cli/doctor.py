"""``mmnet-edge doctor`` (and ``--acceptance``: the one command that proves the GPU half)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.option("--detector", default=None, help="Face detector model path to check.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--acceptance",
    is_flag=True,
    help="Run the GPU acceptance suite (TensorRT, CUDA buffers, ORT GPU, DLA); exit 1 on a "
    "failure. Writes benchmarks/results/<device>/acceptance.{json,md}.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the acceptance report (default benchmarks/results/<device>/).",
)
@click.option(
    "--fetch",
    is_flag=True,
    help="Fetch the pinned face detector model into the cache now (for machines imaged "
    "offline: then copy the cache folder; honours MMNET_EDGE_MODEL_MIRROR).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --fetch: the cache root to fetch into (a folder for a kiosk image; point "
    "MMNET_EDGE_CACHE_DIR at it on the device). Default: MMNET_EDGE_CACHE_DIR or the user cache.",
)
def doctor(
    detector: str | None,
    as_json: bool,
    acceptance: bool,
    output: Path | None,
    fetch: bool,
    cache_dir: Path | None,
) -> None:
    """Print the environment and what mmnet-edge can do on this machine."""
    if cache_dir is not None and not fetch:
        raise click.UsageError("--cache-dir goes with --fetch")
    if fetch:
        _fetch(cache_dir, as_json)
        return
    if acceptance:
        _acceptance(output, as_json)
        return
    from mmnet_edge.doctor import run_doctor

    report = run_doctor(detector)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="mmnet-edge doctor")
    table.add_column("component")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for c in report.checks:
        table.add_row(c.name, "[green]ok[/]" if c.ok else "[yellow]absent[/]", escape(c.detail))
    console = Console()
    console.print(table)
    for item in report.can_do:
        console.print(f"[green]✓[/] {escape(item)}")
    for item in report.cannot_do:
        console.print(f"[yellow]✗[/] {escape(item)}")


def _fetch(cache_dir: Path | None, as_json: bool) -> None:
    """Pre-fetch the pinned detector; a DetectorUnavailableError says why (exit code 1)."""
    from mmnet_edge.align.model_fetch import CACHE_VAR, YUNET, fetch_model

    path = fetch_model(YUNET, progress=not as_json, cache_dir=cache_dir)
    if as_json:
        record = {"file": YUNET.file, "path": str(path), "sha256": YUNET.sha256}
        click.echo(json.dumps({**record, "size": YUNET.size, "verified": True}, indent=2))
        return
    click.echo(f"{YUNET.file}: {path} (sha256 {YUNET.sha256[:16]}… verified)")
    if cache_dir is not None:
        click.echo(
            f"on the device: copy the folder {cache_dir} into the image and set {CACHE_VAR} "
            "to its path there; MMNET_EDGE_OFFLINE=1 keeps the device off the network"
        )


def _acceptance(output: Path | None, as_json: bool) -> None:
    from mmnet_edge.acceptance import run_acceptance

    def echo(step) -> None:  # noqa: ANN001
        if not as_json:
            click.echo(f"[{step.status:>7}] {step.name}: {step.detail}", err=True)

    report, folder = run_acceptance(output, echo=echo)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(report.verdict)
        click.echo(f"report: {folder / 'acceptance.md'} and acceptance.json")
    raise SystemExit(report.exit_code)
