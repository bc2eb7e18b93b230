"""Benchmarks: ``run_benchmark`` (Python API behind ``mmnet-edge bench``).

The report schema is documented in ``docs/benchmarks.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mmnet_edge.bench.harness import RunSettings, case_result, plan_cases, run_cases
from mmnet_edge.errors import InputError

__all__ = ["RunSettings", "run_benchmark"]


def _metadata(models: Sequence[Path]) -> Any:
    from mmnet_edge.artifacts import read_metadata

    if not models:
        raise InputError("no model given: pass a checkpoint, an ONNX file and/or an engine")
    return read_metadata(models[0])


def run_benchmark(
    models: Sequence[Path],
    backends: Sequence[str] = ("torch", "onnxruntime", "tensorrt"),
    precisions: Sequence[str] = ("fp32", "fp16", "int8"),
    batches: Sequence[int] = (1,),
    settings: RunSettings | None = None,
    stages: bool = False,
    detector: str | None = None,
    baseline: str | None = None,
    device: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Benchmark every applicable backend × precision × batch; returns the report dict."""
    from mmnet_edge.bench.environment import collect_environment
    from mmnet_edge.bench.flops import gflops_for
    from mmnet_edge.bench.report import add_ratios

    settings = settings or RunSettings()
    models = [Path(m) for m in models]
    meta = _metadata(models)
    gflops, gflops_by_op, gflops_source = gflops_for(meta)
    cases = plan_cases(models, backends, precisions, batches, device, settings.cuda_graph)
    complete = run_cases(cases, settings, on_progress)
    report: dict[str, Any] = {
        "environment": collect_environment(),
        "model": {
            "name": ", ".join(m.name for m in models),
            "gflops_per_sample": gflops,
            "gflops_by_op": gflops_by_op,
            "gflops_source": gflops_source,
            "flop_convention": "multiply-add = 2 FLOPs; torch FlopCounterMode on one pair",
            "input_size": meta.input_size,
            "config": meta.config.to_dict(),
        },
        "method": (
            f"warm-up {settings.warmup} calls per case (excluded); cases interleaved round-robin; "
            + " or ".join(
                ([f"{settings.iters} rounds"] if settings.iters else [])
                + ([f"at most {settings.seconds:g} s"] if settings.seconds else [])
            )
            + "; latency = one runner call on preprocessed tensors (host clock, result on host)"
            + "; throughput = batch / p50 latency; achieved GFLOP/s = throughput × GFLOPs/pair"
        ),
        "complete": complete,
        "results": [case_result(c, gflops) for c in cases],
    }
    add_ratios(report, baseline)
    if stages and complete:
        from mmnet_edge.bench.stages import measure_stages

        first = next((c for c in cases if c.status == "ok"), None)
        if first is not None:
            try:
                report["stages"] = measure_stages(
                    first.model, first.backend, detector, device=first.device
                )
            except KeyboardInterrupt:
                report["complete"] = False
    return report
