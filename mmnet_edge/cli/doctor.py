"""``mmnet-edge doctor``."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--detector", default=None, help="Face detector model path to check.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def doctor(detector: str | None, as_json: bool) -> None:
    """Print the environment and what mmnet-edge can do on this machine."""
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
