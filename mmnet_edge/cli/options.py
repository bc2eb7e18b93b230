"""Shared CLI helpers: extras checks and numeric option types."""

from __future__ import annotations

import importlib.util

import click


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
