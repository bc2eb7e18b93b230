"""Benchmarks: ``run_benchmark`` (Python API behind ``mmnet-edge bench``).

The report schema is documented in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mmnet_edge.bench.guards import check_batch_memory
from mmnet_edge.bench.harness import (
    RunSettings,
    case_result,
    check_matrix,
    plan_cases,
    run_cases,
)
from mmnet_edge.compare import AGREEMENT_GATE
from mmnet_edge.errors import InputError

__all__ = ["RunSettings", "run_benchmark"]


def _metadata(models: Sequence[Path]) -> Any:
    from mmnet_edge.artifacts import read_metadata

    if not models:
        raise InputError("no model given: pass a checkpoint, an ONNX file and/or an engine")
    return read_metadata(models[0])


def quiet_openmp() -> str:
    """Ask torch's OpenMP workers to sleep, not spin, between calls (``OMP_WAIT_POLICY=PASSIVE``)
    unless the user set the policy or torch is already loaded; returns what is in effect.

    Interleaved on a few cores, torch's spinning workers steal the cores from the case that
    runs next: on 2 cores the ONNX Runtime case after torch measured ~18 % slower (tiny
    model) with the default policy."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    policy = os.environ.get("OMP_WAIT_POLICY")
    return f"OMP_WAIT_POLICY={policy}" if policy else "OpenMP wait policy: library default"


def run_benchmark(
    models: Sequence[Path],
    backends: Sequence[str] = ("torch", "onnxruntime", "openvino", "tensorrt"),
    precisions: Sequence[str] = ("fp32", "fp16", "int8"),
    batches: Sequence[int] = (1,),
    settings: RunSettings | None = None,
    stages: bool = False,
    detector: str | None = None,
    baseline: str | None = None,
    device: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    gate: float = AGREEMENT_GATE,
    cache_dir: str | Path | None = None,
    calib: str | Path | None = None,
    calib_method: str = "minmax",
    export_missing: bool = True,
    on_message: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Benchmark every applicable backend × precision × batch; returns the report dict.

    A lone checkpoint gets its ONNX/INT8 exports from the bench cache
    (:func:`mmnet_edge.bench.cache.prepare_models`; ``export_missing=False`` turns that
    off); ``on_message`` hears what was exported or reused. Every measured case is compared
    with the FP32 reference on the gate's held-out sets (``settings.agreement_pairs`` of each), and
    ``report["recommendation"]`` names the fastest batch-1 case with agreement ≥ ``gate``.
    """
    from mmnet_edge.bench.environment import collect_environment
    from mmnet_edge.bench.flops import gflops_for
    from mmnet_edge.bench.recommend import recommend
    from mmnet_edge.bench.report import add_ratios

    omp = quiet_openmp()
    settings = settings or RunSettings()
    models = [Path(m) for m in models]
    meta = _metadata(models)
    # refused before anything is exported or allocated
    check_matrix(backends, precisions, batches)
    check_batch_memory([int(b) for b in batches], meta.input_size)
    exports = None
    if export_missing:
        from mmnet_edge.bench.cache import prepare_models

        exports = prepare_models(
            models, backends, precisions, cache_dir, calib, calib_method, on_message
        )
        models = exports.models
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
            + f"; {omp}"
        ),
        "complete": complete,
        "results": [case_result(c, gflops) for c in cases],
        "agreement": next((c.agreement_info for c in cases if c.agreement_info), None),
    }
    if exports is not None and exports.directory is not None:
        report["exports"] = exports.to_dict()
    add_ratios(report, baseline)
    report["recommendation"] = recommend(report, models, gate)
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
