"""Numeric option checks shared by every layer: a typed :class:`InputError` naming the option
and its allowed range when a value is checked (at construction), never a late crash or a
silent clamp. Bottom layer: imports only numpy and :mod:`mmnet_edge.errors`."""

from __future__ import annotations

from typing import Any

import numpy as np

from mmnet_edge.errors import InputError


def check_int_option(name: str, value: Any, low: int, high: int | None = None) -> int:
    """An integer option in [low, high] (bools and non-integers refused), else InputError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"≥ {low}"
        raise InputError(f"{name} must be {bound}, got {value}")
    return int(value)


def check_float_option(
    name: str,
    value: Any,
    low: float,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite number in [low, high] (``low_open``/``high_open``: excluding that end), else
    InputError naming the option and the range."""
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    too_low = v <= low if low_open else v < low
    too_high = high is not None and (v >= high if high_open else v > high)
    if too_low or too_high:
        lo = f"> {low:g}" if low_open else f"≥ {low:g}"
        hi = "" if high is None else (f" and < {high:g}" if high_open else f" and ≤ {high:g}")
        raise InputError(f"{name} must be {lo}{hi}, got {v:g}")
    return v


__all__ = ["check_float_option", "check_int_option"]
