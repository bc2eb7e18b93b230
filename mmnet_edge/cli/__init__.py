"""``mmnet-edge`` command line: a thin click layer over the Python API.

Sub-commands live in their own modules and are imported only when used, so
``mmnet-edge --help`` stays fast and works without optional backends.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from mmnet_edge._version import __version__
from mmnet_edge.errors import MMNetEdgeError

# command name -> (module, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("mmnet_edge.cli.demo", "demo", "Run the end-to-end demo on the synthetic set."),
    "train": ("mmnet_edge.cli.train", "train", "Train MMNet (LOSO or holdout) and report metrics."),
    "export": ("mmnet_edge.cli.export", "export", "Export a checkpoint to ONNX / TensorRT."),
    "calibrate": ("mmnet_edge.cli.calibrate", "calibrate", "Build INT8 calibration sets, report."),
    "bench": ("mmnet_edge.cli.bench", "bench", "Benchmark a model across backends."),
    "predict": ("mmnet_edge.cli.predict", "predict", "Classify an onset/apex pair or a video."),
    "watch": ("mmnet_edge.cli.watch", "watch", "Spot and classify events in a video or camera."),
    "align": (
        "mmnet_edge.cli.align",
        "align",
        "Write aligned face crops (pairs, folders, videos).",
    ),
    "info": ("mmnet_edge.cli.info", "info", "Show what a checkpoint, ONNX file or engine holds."),
    "convert-weights": (
        "mmnet_edge.cli.convert",
        "convert_weights",
        "Convert weights trained with the authors' code.",
    ),
    "doctor": ("mmnet_edge.cli.doctor", "doctor", "Report what this machine can run."),
    "serve": ("mmnet_edge.cli.serve", "serve", "Serve a model with Triton (NVIDIA PyTriton)."),
}


class LazyGroup(click.Group):
    """Click group that imports each sub-command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mmnet-edge")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """mmnet-edge: MMNet micro-expression recognition on edge devices."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Console entry point: SDK errors become one clear line and exit code 1."""
    try:
        rc = cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except MMNetEdgeError as exc:
        click.secho(f"error: {type(exc).__name__}: {exc}", fg="red", err=True)
        sys.exit(1)
    if isinstance(rc, int) and rc:
        sys.exit(rc)
