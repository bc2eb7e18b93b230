"""Shared CLI helpers: extras checks, numeric option types, the Runtime options."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from typing import Any

import click

from mmnet_edge.artifacts.formats import RUN_PRECISIONS
from mmnet_edge.runtime.backends import BACKEND_ALIASES


def _missing(modules: tuple[str, ...]) -> list[str]:
    out = []
    for m in modules:
        try:
            if importlib.util.find_spec(m) is None:
                out.append(m)
        except (ImportError, ValueError):
            out.append(m)
    return out


def require_train_extra(command: str, modules: tuple[str, ...] = ("torch", "onnx")) -> None:
    """Exit with a clear message when a command that needs the ``[train]`` extra lacks it."""
    missing = _missing(modules)
    if missing:
        raise click.ClickException(
            f"`mmnet-edge {command}` needs {', '.join(missing)}, which this installation lacks: "
            "pip install 'mmnet-edge[train]' (the runtime-only install runs, benchmarks and "
            "inspects exported .onnx/.engine files without it)"
        )


def require_extra(command: str, extra: str, modules: tuple[str, ...]) -> None:
    """Exit with a message naming ``[extra]`` when ``modules`` are not importable."""
    missing = _missing(modules)
    if missing:
        raise click.ClickException(
            f"`mmnet-edge {command}` needs {', '.join(missing)}, which this installation "
            f"lacks: pip install 'mmnet-edge[{extra}]'"
        )


_RUNTIME_OPTIONS = (
    click.option(
        "--backend",
        type=click.Choice(["auto", *BACKEND_ALIASES]),
        default="auto",
        show_default=True,
    ),
    click.option("--device", default=None, help="cpu, cuda, cuda:1 … (default: best available)."),
    click.option("--precision", type=click.Choice(RUN_PRECISIONS), default=None),
    click.option(
        "--detector",
        default=None,
        help="YuNet model file (default: $MMNET_EDGE_FACE_DETECTOR, else the pinned model, "
        "fetched once).",
    ),
    click.option("--no-align", is_flag=True, help="Inputs are already aligned face crops."),
)


def runtime_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--backend --device --precision --detector --no-align`` for a command that opens a
    :class:`~mmnet_edge.Runtime`; the command receives them as one ``runtime`` dict of
    ``Runtime`` keyword arguments (``predict`` and ``watch`` read them alike)."""

    @functools.wraps(command)
    def wrapper(
        *args: Any,
        backend: str,
        device: str | None,
        precision: str | None,
        detector: str | None,
        no_align: bool,
        **kwargs: Any,
    ) -> Any:
        runtime = {
            "backend": backend,
            "device": device,
            "precision": precision,
            "detector": detector,
            "align": not no_align,
        }
        return command(*args, runtime=runtime, **kwargs)

    for option in reversed(_RUNTIME_OPTIONS):
        wrapper = option(wrapper)
    return wrapper
