"""What ``bench`` refuses before it allocates anything: batches that cannot fit in memory,
and backend / precision / batch lists that are empty or name one thing twice."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence

from mmnet_edge.errors import InputError

#: host memory one pair of a batch costs, per input pixel (onset + apex float32 inputs,
#: activations, the output), rounded up from ONNX Runtime on the paper model (224 px):
#: 22.8 MB a pair at batch 1, 19 MB a pair at batch 32 (peak RSS growth, 2026-12-04)
BYTES_PER_PIXEL_PER_PAIR = 500
#: share of the available memory a benchmark may plan to use (the rest: the runtime itself,
#: the models, other processes)
MEMORY_SHARE = 0.7


def available_memory() -> int | None:
    """``MemAvailable`` from ``/proc/meminfo`` in bytes, else the free physical pages
    ``os.sysconf`` reports (None where neither can be read)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None
    return pages * size if pages > 0 and size > 0 else None


def batch_bytes(batch: int, input_size: int) -> int:
    """Estimated host memory of one call at ``batch`` pairs of ``input_size`` px."""
    return batch * input_size * input_size * BYTES_PER_PIXEL_PER_PAIR


def check_batch_memory(
    batches: Sequence[int], input_size: int, available: int | None = None
) -> None:
    """Refuse batch sizes whose estimated memory exceeds :data:`MEMORY_SHARE` of what is
    available, naming the estimate and the largest batch that fits."""
    available = available_memory() if available is None else available
    if available is None or not batches:
        return
    budget = int(available * MEMORY_SHARE)
    biggest = max(batches)
    need = batch_bytes(biggest, input_size)
    if need <= budget:
        return
    fits = max(1, budget // batch_bytes(1, input_size))
    raise InputError(
        f"batch {biggest} of {input_size}-px pairs needs about {need / 2**30:.1f} GiB of host "
        f"memory (≈ {batch_bytes(1, input_size) / 2**20:.0f} MiB a pair), more than "
        f"{MEMORY_SHARE:.0%} of the {available / 2**30:.1f} GiB available: use --batch "
        f"{fits} or less"
    )


def unique_list(kind: str, values: Sequence[str], known: Sequence[str] | None = None) -> None:
    """An empty list, a value given twice (after aliases are resolved) or an unknown one is
    refused with what was given."""
    if not values:
        raise InputError(
            f"no {kind} given; name at least one" + (f" ({', '.join(known)})" if known else "")
        )
    twice = sorted(v for v, n in Counter(values).items() if n > 1)
    if twice:
        aliases = (
            " (aliases count: ort = onnxruntime, ov = openvino, trt = tensorrt)"
            if kind == "backends"
            else ""
        )
        raise InputError(
            f"{kind} named more than once: {', '.join(twice)}{aliases}; list each once"
        )
    if known is not None:
        unknown = [v for v in values if v not in known]
        if unknown:
            raise InputError(f"unknown {kind} {', '.join(unknown)}; use {', '.join(known)}")


__all__ = [
    "BYTES_PER_PIXEL_PER_PAIR",
    "available_memory",
    "batch_bytes",
    "check_batch_memory",
    "unique_list",
]
