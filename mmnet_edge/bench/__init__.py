"""Benchmarks: ``run_benchmark`` (Python API behind ``mmnet-edge bench``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mmnet_edge.bench.harness import RunSettings, case_result, plan_cases, run_cases

__all__ = ["RunSettings", "run_benchmark"]


def _metadata(models: Sequence[Path]) -> Any:
    from mmnet_edge.checkpoint import read_metadata
    from mmnet_edge.export.onnx import read_onnx_metadata
    from mmnet_edge.metadata import ModelMetadata

    for m in models:
        suffix = Path(m).suffix.lower()
        if suffix == ".safetensors":
            return read_metadata(m)
        if suffix == ".onnx":
            return read_onnx_metadata(m)
        if suffix in (".engine", ".plan", ".trt"):
            from mmnet_edge.export.tensorrt import read_sidecar

            return ModelMetadata.from_dict(read_sidecar(m)["metadata"])
    raise ValueError("no model given")


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
    from mmnet_edge.bench.flops import model_gflops
    from mmnet_edge.bench.report import add_ratios

    settings = settings or RunSettings()
    models = [Path(m) for m in models]
    meta = _metadata(models)
    gflops = model_gflops(meta.config)
    cases = plan_cases(models, backends, precisions, batches, device)
    complete = run_cases(cases, settings, on_progress)
    report: dict[str, Any] = {
        "environment": collect_environment(),
        "model": {
            "name": ", ".join(m.name for m in models),
            "gflops_per_sample": gflops,
            "input_size": meta.input_size,
            "config": meta.config.to_dict(),
        },
        "method": (
            f"warm-up {settings.warmup} calls per case (excluded); cases interleaved round-robin; "
            + (f"{settings.iters} rounds" if settings.iters else "")
            + (f", at most {settings.seconds:g} s" if settings.seconds else "")
            + "; latency = one runner call on preprocessed tensors (host clock, result on host)"
        ),
        "complete": complete,
        "results": [case_result(c, gflops) for c in cases],
    }
    add_ratios(report, baseline)
    if stages and complete:
        from mmnet_edge.bench.stages import measure_stages

        first = next((c for c in cases if c.status == "ok"), None)
        if first is not None:
            report["stages"] = measure_stages(first.model, first.backend, detector)
    return report
