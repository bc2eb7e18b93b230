"""Runs the acceptance steps in order (a failure never stops the others) and writes
``benchmarks/results/<device>/acceptance.{json,md}``."""

from __future__ import annotations

import json
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from mmnet_edge.acceptance.context import Context, Skip, Step
from mmnet_edge.acceptance.report import AcceptanceReport, StepResult, device_slug
from mmnet_edge.acceptance.steps import STEPS
from mmnet_edge.artifacts.files import atomic_write_text


def run_acceptance(
    output: Path | None = None,
    steps: list[tuple[str, Step]] | None = None,
    workdir: Path | None = None,
    echo: Callable[[StepResult], None] | None = None,
) -> tuple[AcceptanceReport, Path]:
    """Run every step (a failure never stops the others) and write the reports.

    Returns the report and the folder it was written to. ``steps``/``workdir`` may be
    injected (tests).
    """
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="mmnet-acceptance-")
        workdir = Path(tmp.name)
    ctx = Context(Path(workdir))
    report = AcceptanceReport("unknown", started=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    try:
        for name, fn in steps if steps is not None else STEPS:
            t0 = time.perf_counter()
            try:
                out = fn(ctx)
                detail, data = out if isinstance(out, tuple) else (out, {})
                result = StepResult(name, "passed", detail, data=data)
            except Skip as why:
                result = StepResult(name, "skipped", str(why))
            except Exception as exc:  # noqa: BLE001 - a failed step is reported, not raised
                tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
                result = StepResult(name, "failed", tb)
            result.seconds = time.perf_counter() - t0
            if name == "environment" and result.status == "passed":
                report.environment = result.data
            report.steps.append(result)
            if echo is not None:
                echo(result)
    finally:
        if tmp is not None:
            tmp.cleanup()
    report.device = device_slug(ctx.gpu, report.environment.get("jetson") or {})
    folder = Path(output) if output is not None else Path("benchmarks/results") / report.device
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "acceptance.json", json.dumps(report.to_dict(), indent=2) + "\n")
    atomic_write_text(folder / "acceptance.md", report.to_markdown())
    return report, folder
