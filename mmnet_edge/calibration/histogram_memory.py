"""Memory bounds for histogram calibration (percentile, entropy).

ONNX Runtime's histogram calibrators hold every sample's activations before building the
histograms (about 110 MB a pair for the paper model); :func:`histogram_sample_limit` caps the
pair count to a budget, with a warning naming the numbers."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import onnx

#: calibration methods whose ONNX Runtime calibrator keeps every sample's activations in
#: memory before building histograms (MinMax reduces as it goes)
HISTOGRAM_METHODS = ("percentile", "entropy")

#: memory the histogram calibrator may use for activations (also at most 1/4 of the RAM)
HISTOGRAM_MEMORY_BUDGET = 3 << 30


def activation_bytes_per_sample(model: Path | str) -> int:
    """Bytes of every float activation of one sample (from shape inference's value_info)."""
    graph = onnx.load(str(model), load_external_data=False).graph
    total = 0
    for vi in graph.value_info:
        tt = vi.type.tensor_type
        if tt.elem_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16):
            continue
        n = 1
        for d in tt.shape.dim[1:]:  # the batch dimension is per sample
            n *= d.dim_value if d.dim_value > 0 else 1
        total += n * (4 if tt.elem_type == onnx.TensorProto.FLOAT else 2)
    return total


def histogram_sample_limit(model: Path | str, available: int, limit: int | None) -> int | None:
    """How many calibration pairs a histogram calibration may use without exhausting RAM.

    ONNX Runtime's percentile/entropy calibrators hold every sample's activations before
    building histograms: about 110 MB a pair for the paper model, so 200 pairs needed more
    than 22 GB. Fewer pairs are used when needed, with a warning naming the numbers.
    """
    per_sample = max(activation_bytes_per_sample(model), 1)
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        ram = 16 << 30
    budget = min(HISTOGRAM_MEMORY_BUDGET, ram // 4)
    fits = max(16, budget // per_sample)
    wanted = available if limit is None else min(limit, available)
    if wanted <= fits:
        return limit
    warnings.warn(
        f"percentile/entropy calibration keeps every pair's activations in memory "
        f"({per_sample / 2**20:.0f} MiB a pair): using {fits} of {wanted} calibration pairs to "
        f"stay within {budget / 2**30:.1f} GiB (minmax uses all pairs at constant memory)",
        CalibrationMemoryWarning,
        stacklevel=3,
    )
    return fits


class CalibrationMemoryWarning(UserWarning):
    """A histogram calibration used fewer pairs to bound its memory."""
