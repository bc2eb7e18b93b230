"""Latency statistics (percentiles by linear interpolation, as numpy's default)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

KEYS = ("min", "p50", "p90", "p99", "max", "mean", "std")


def latency_stats(samples_ms: Sequence[float]) -> dict[str, float]:
    """min/p50/p90/p99/max/mean/std of a latency sample (ms); empty → ValueError."""
    a = np.asarray(samples_ms, dtype=np.float64)
    if a.size == 0:
        raise ValueError("no latency samples")
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return {
        "min": float(a.min()),
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "max": float(a.max()),
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
    }


def throughput_per_s(batch: int, median_ms: float) -> float:
    """Pairs per second at the median batch latency."""
    return batch * 1000.0 / median_ms if median_ms > 0 else float("nan")
