"""Click parameter types for numeric options: ranges that also refuse NaN and infinity.

``click.FloatRange`` lets ``nan`` through (every comparison with NaN is false), so a
``--lr nan`` would reach the optimiser. These types make any out-of-range or non-finite
value a usage error (exit code 2) that names the option.
"""

from __future__ import annotations

import math
from typing import Any

import click


class FiniteFloatRange(click.FloatRange):
    """A ``click.FloatRange`` that also rejects ``nan`` and ``±inf``."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        rv = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(rv, param, ctx)


#: ≥ 1 (counts: epochs, batch sizes, threads, iterations)
POSITIVE_INT = click.IntRange(min=1)
#: ≥ 0 (indices, seeds, worker counts)
NON_NEGATIVE_INT = click.IntRange(min=0)
#: > 0 and finite (learning rates, decay factors)
POSITIVE_FLOAT = FiniteFloatRange(min=0.0, min_open=True)
#: ≥ 0 and finite (weight decay, margins)
NON_NEGATIVE_FLOAT = FiniteFloatRange(min=0.0)
#: a fraction in [0, 1]
FRACTION = FiniteFloatRange(0.0, 1.0)
#: an image side in pixels (≥ 16)
IMAGE_SIZE = click.IntRange(min=16)

__all__ = [
    "FRACTION",
    "IMAGE_SIZE",
    "NON_NEGATIVE_FLOAT",
    "NON_NEGATIVE_INT",
    "POSITIVE_FLOAT",
    "POSITIVE_INT",
    "FiniteFloatRange",
]
