"""Benchmark harness: backends × precisions × batches, interleaved, warm-up excluded."""

from __future__ import annotations

import contextlib
import importlib.util
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.bench.stats import latency_stats, throughput_per_s
from mmnet_edge.errors import MMNetEdgeError


@dataclass
class Case:
    backend: str
    precision: str
    batch: int
    model: Path
    device: str = "cpu"
    status: str = "pending"
    reason: str = ""
    runner: Any = None
    samples_ms: list[float] = field(default_factory=list)
    peak_rss_mb: float | None = None
    cuda_peak_mb: float | None = None

    @property
    def label(self) -> str:
        return f"{self.backend}/{self.precision}/b{self.batch}"


def _cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def plan_cases(
    models: Sequence[Path],
    backends: Sequence[str],
    precisions: Sequence[str],
    batches: Sequence[int],
    device: str | None = None,
) -> list[Case]:
    """Every backend × precision × batch that applies to the given files; inapplicable or
    unavailable combinations become ``skipped`` cases with the reason."""
    from mmnet_edge.runtime.loader import model_kind, onnx_variant_path

    device = device or ("cuda" if _cuda() else "cpu")
    by_kind: dict[str, Path] = {}
    for m in models:
        by_kind.setdefault(model_kind(m), Path(m))
    file_for = {"torch": "checkpoint", "onnxruntime": "onnx", "tensorrt": "engine"}
    cases: list[Case] = []
    for backend in backends:
        for precision in precisions:
            for batch in batches:
                case = Case(backend, precision, batch, Path(), device)
                cases.append(case)
                kind = file_for[backend]
                if backend == "tensorrt" and importlib.util.find_spec("tensorrt") is None:
                    case.status, case.reason = (
                        "skipped",
                        (
                            "TensorRT not installed (pip install 'mmnet-edge[tensorrt]' on a GPU "
                            "machine, or use JetPack's)"
                        ),
                    )
                    continue
                if backend == "tensorrt" and not _cuda():
                    case.status, case.reason = "skipped", "no CUDA device"
                    continue
                if kind not in by_kind:
                    case.status, case.reason = "skipped", f"no {kind} file given"
                    continue
                base = by_kind[kind]
                if backend == "torch":
                    if precision == "int8":
                        case.status, case.reason = "skipped", "torch eager has no INT8 path here"
                        continue
                    if precision == "fp16" and device == "cpu":
                        case.status, case.reason = "skipped", "FP16 needs a CUDA device"
                        continue
                    case.model = base
                elif backend == "onnxruntime":
                    if precision == "fp16" and device == "cpu":
                        case.status, case.reason = (
                            "skipped",
                            ("FP16 on ONNX Runtime CPU is emulated (validation only, not speed)"),
                        )
                        continue
                    try:
                        case.model = onnx_variant_path(base, precision, device)
                    except MMNetEdgeError as exc:
                        case.status, case.reason = "skipped", str(exc)
                        continue
                else:
                    case.model = base
                    manifest_precision = _engine_precision(base)
                    if manifest_precision and manifest_precision != precision:
                        case.status, case.reason = "skipped", f"engine is {manifest_precision}"
                        continue
    return cases


def _engine_precision(engine: Path) -> str | None:
    try:
        from mmnet_edge.export.tensorrt import read_sidecar

        return str(read_sidecar(engine).get("precision"))
    except MMNetEdgeError:
        return None


def _rss_mb() -> float | None:
    """Peak resident memory of this process so far (MiB)."""
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    except (ImportError, OSError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    return psutil.Process().memory_info().rss / 2**20


def open_case(case: Case, threads: int | None) -> None:
    from mmnet_edge.runtime.loader import open_runner

    opts: dict[str, Any] = {}
    if threads and case.backend in ("torch", "onnxruntime"):
        opts["threads"] = threads
    try:
        prec = case.precision if case.backend == "torch" else None
        case.runner = open_runner(
            case.model,
            backend=case.backend,
            device=case.device if case.backend != "onnxruntime" else None,
            precision=prec,
            **opts,
        )
        case.status = "ready"
    except MMNetEdgeError as exc:
        case.status, case.reason = "skipped", f"{type(exc).__name__}: {exc}"


def inputs_for(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = case.runner.input_size
    on = rng.standard_normal((case.batch, 3, s, s), dtype=np.float32)
    return on, (on + 0.05 * rng.standard_normal(on.shape, dtype=np.float32)).astype(np.float32)


@dataclass
class RunSettings:
    warmup: int = 5
    iters: int | None = 50
    seconds: float | None = None
    threads: int | None = None


def run_cases(
    cases: list[Case],
    settings: RunSettings,
    on_progress: Callable[[int, int], None] | None = None,
) -> bool:
    """Run every ready case round-robin (one call each per round) until ``iters`` samples
    each or ``seconds`` of measurement have passed. Returns False if interrupted."""
    active = [c for c in cases if c.status == "pending"]
    for c in active:
        open_case(c, settings.threads)
    active = [c for c in active if c.status == "ready"]
    feeds = {id(c): inputs_for(c) for c in active}
    for c in active:  # warm-up excluded from the numbers
        for _ in range(settings.warmup):
            c.runner.run(*feeds[id(c)])
    torch_cuda = _cuda() and any(c.backend == "torch" and "cuda" in c.device for c in active)
    if torch_cuda:
        import torch

        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    target = settings.iters or 10**9
    completed = True
    try:
        rounds = 0
        while rounds < target:
            if settings.seconds is not None and time.perf_counter() - start >= settings.seconds:
                break
            for c in active:
                t0 = time.perf_counter()
                c.runner.run(*feeds[id(c)])  # returns host logits: device work is finished
                c.samples_ms.append((time.perf_counter() - t0) * 1e3)
            rounds += 1
            if on_progress:
                on_progress(rounds, target if settings.iters else 0)
    except KeyboardInterrupt:
        completed = False
    for c in active:
        c.peak_rss_mb = _rss_mb()
        if torch_cuda and c.backend == "torch":
            import torch

            c.cuda_peak_mb = torch.cuda.max_memory_allocated() / 2**20
        c.status = "ok" if c.samples_ms else "skipped"
        if not c.samples_ms:
            c.reason = "interrupted before the first measurement"
        with contextlib.suppress(Exception):
            c.runner.close()
        c.runner = None
    return completed


def case_result(case: Case, gflops: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "backend": case.backend,
        "precision": case.precision,
        "batch": case.batch,
        "device": case.device,
        "model": str(case.model) if case.model != Path() else None,
        "status": case.status,
    }
    if case.status != "ok":
        out["reason"] = case.reason
        return out
    lat = latency_stats(case.samples_ms)
    tput = throughput_per_s(case.batch, lat["p50"])
    out.update(
        latency_ms=lat,
        throughput_per_s=tput,
        achieved_gflops_per_s=tput * gflops,
        samples=len(case.samples_ms),
        peak_rss_mb=case.peak_rss_mb,
        cuda_peak_mb=case.cuda_peak_mb,
    )
    return out
