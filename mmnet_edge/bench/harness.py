"""Benchmark harness: backends × precisions × batches, interleaved, warm-up excluded.

Every applicable case is opened first, warmed up, then measured **round-robin** — one
call of each case per round — so thermal or frequency drift and background load hit all
cases alike. A round ends the run when ``iters`` rounds are done or ``seconds`` of
measurement have passed. Ctrl-C at any point returns what was measured so far.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.artifacts.gate_record import Int8GateWarning
from mmnet_edge.bench.stats import latency_stats, throughput_per_s
from mmnet_edge.errors import InputError, MMNetEdgeError


@dataclass
class Case:
    """One backend × precision × batch (× CUDA graph) measurement."""

    backend: str
    precision: str
    batch: int
    model: Path
    device: str = "cpu"
    cuda_graph: bool = False
    status: str = "pending"
    reason: str = ""
    runner: Any = None
    samples_ms: list[float] = field(default_factory=list)
    peak_rss_mb: float | None = None
    cuda_peak_mb: float | None = None
    device_used_mb: float | None = None
    runner_info: dict[str, Any] = field(default_factory=dict)
    agreement: dict[str, Any] | None = None  #: top-1 agreement with the FP32 reference
    agreement_info: dict[str, Any] | None = None  #: the reference and the inputs used

    @property
    def label(self) -> str:
        graph = "+graph" if self.cuda_graph else ""
        return f"{self.backend}{graph}/{self.precision}/b{self.batch}"

    def skip(self, reason: str) -> None:
        self.status, self.reason = "skipped", reason


@dataclass
class RunSettings:
    """Warm-up calls per case (excluded), rounds and/or a time bound, CPU threads."""

    warmup: int = 5
    iters: int | None = 50
    seconds: float | None = None
    threads: int | None = None
    cuda_graph: bool = False  # add a CUDA-graph twin of every torch/TensorRT CUDA case
    agreement_pairs: int = 160  # pairs of each gate set for agreement with FP32 (0: skip)

    def __post_init__(self) -> None:
        if self.iters is None and self.seconds is None:
            raise InputError("give iters, seconds or both: the run needs a bound")
        if self.iters is not None and self.iters < 1:
            raise InputError(f"iters must be ≥ 1, not {self.iters}")
        if self.seconds is not None and self.seconds <= 0:
            raise InputError(f"seconds must be > 0, not {self.seconds}")
        if self.warmup < 0:
            raise InputError(f"warmup must be ≥ 0, not {self.warmup}")
        if self.agreement_pairs < 0:
            raise InputError(f"agreement_pairs must be ≥ 0, not {self.agreement_pairs}")


def _cuda() -> bool:
    from mmnet_edge.runtime.runner import has_module

    if not has_module("torch"):
        return False
    import torch

    return bool(torch.cuda.is_available())


def check_matrix(
    backends: Sequence[str], precisions: Sequence[str], batches: Sequence[int]
) -> list[str]:
    """The backends' canonical names, once each list is known to be non-empty, free of
    repeats (after aliases: ``ort`` = ``onnxruntime``) and of unknown names, with every
    batch ≥ 1; otherwise an InputError. ``run_benchmark`` calls it before any export."""
    from mmnet_edge.artifacts.formats import RUN_PRECISIONS
    from mmnet_edge.bench.guards import unique_list
    from mmnet_edge.runtime.backends import canonical_backend

    names = [canonical_backend(b, auto=False) for b in backends]
    unique_list("backends", names)
    unique_list("precisions", list(precisions), RUN_PRECISIONS)
    for b in batches:
        if int(b) < 1:
            raise InputError(f"batch sizes must be ≥ 1, got {b}")
    unique_list("batch sizes", [str(int(b)) for b in batches])
    return names


def plan_cases(
    models: Sequence[Path],
    backends: Sequence[str],
    precisions: Sequence[str],
    batches: Sequence[int],
    device: str | None = None,
    cuda_graph: bool = False,
) -> list[Case]:
    """Every backend × precision × batch for the given files; inapplicable or unavailable
    combinations become ``skipped`` cases with the reason (never an exception). What each
    backend runs, where, and which file it opens comes from the runner classes' class data
    and the artefact table."""
    from mmnet_edge.artifacts.formats import container_of

    backends = check_matrix(backends, precisions, batches)
    cuda = _cuda()
    device = device or ("cuda" if cuda else "cpu")
    by_kind: dict[str, Path] = {}
    engines: dict[str, Path] = {}  # several engines (one per precision) may be given
    for m in models:
        kind = container_of(m)
        by_kind.setdefault(kind, Path(m))
        if kind == "engine":
            engines.setdefault(_engine_precision(Path(m)) or "?", Path(m))
    cases: list[Case] = []
    for backend in backends:
        graph_modes = [False, True] if cuda_graph and backend in ("torch", "tensorrt") else [False]
        for precision in precisions:
            for batch in batches:
                for graph in graph_modes:
                    case = Case(backend, precision, int(batch), Path(), device, graph)
                    cases.append(case)
                    kinds = dict(by_kind)
                    if backend == "tensorrt" and precision in engines:
                        kinds["engine"] = engines[precision]
                    _plan_one(case, kinds)
    return cases


def _plan_one(case: Case, by_kind: dict[str, Path]) -> None:
    from mmnet_edge.artifacts.platform import gpu_facts
    from mmnet_edge.runtime.backends import onnx_variant_path, runner_class
    from mmnet_edge.runtime.loader import ort_cuda_providers, resolve_device

    cls = runner_class(case.backend)
    missing = cls.unavailable_reason()
    if missing:
        return case.skip(missing)
    case.device = resolve_device(case.backend, case.device)
    on_cuda = case.device.startswith("cuda")
    if case.backend == "onnxruntime" and on_cuda and not ort_cuda_providers():
        case.device = "cpu"  # CPU build of onnxruntime on a GPU machine: measure it there
    elif case.backend == "tensorrt" and not gpu_facts():
        return case.skip("no CUDA device (TensorRT runs on NVIDIA GPUs)")
    elif case.backend == "torch" and on_cuda and not _cuda():
        return case.skip("no CUDA device seen by torch")
    if case.cuda_graph and not case.device.startswith("cuda"):
        return case.skip("CUDA graphs need a CUDA device")
    why = cls.supports(case.precision, case.device)
    if why:
        return case.skip(why)
    kind = next((k for k in cls.containers if k in by_kind), None)
    if kind is None:
        return case.skip(f"no {' or '.join(cls.containers)} file given")
    base = by_kind[kind]
    if kind == "onnx":
        try:
            case.model = onnx_variant_path(base, case.precision, case.device, case.backend)
        except MMNetEdgeError as exc:
            return case.skip(str(exc))
    else:
        case.model = base
        if kind == "engine":
            built = _engine_precision(base)
            if built and built != case.precision:
                return case.skip(f"the engine was built for {built}")
    return None


def _engine_precision(engine: Path) -> str | None:
    try:
        from mmnet_edge.artifacts.manifests import read_engine_manifest

        return str(read_engine_manifest(engine).precision)
    except MMNetEdgeError:
        return None


def peak_rss_mb() -> float | None:
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
    mi = psutil.Process().memory_info()
    return getattr(mi, "peak_wset", mi.rss) / 2**20


# kept for callers of the earlier private name


def cuda_device_used_mb() -> float | None:
    """Memory in use on CUDA device 0 by every process (MiB), when torch sees a GPU."""
    if not _cuda():
        return None
    import torch

    free, total = torch.cuda.mem_get_info()
    return (total - free) / 2**20


def open_case(case: Case, threads: int | None) -> None:
    """Open the runner of a pending case; a failure skips the case with the reason."""
    from mmnet_edge.runtime.loader import open_runner

    opts: dict[str, Any] = {}
    if threads and case.backend in ("torch", "onnxruntime", "openvino"):
        opts["threads"] = threads
    if case.cuda_graph:
        opts["cuda_graph"] = True
    try:
        with warnings.catch_warnings():
            # a file that failed the export gate is measured anyway; the recommendation
            # rejects it and says why (report["recommendation"]["rejected"])
            warnings.simplefilter("ignore", Int8GateWarning)
            case.runner = open_runner(
                case.model,
                backend=case.backend,
                device=case.device,
                precision=case.precision,
                **opts,
            )
        case.runner_info = case.runner.describe() if hasattr(case.runner, "describe") else {}
        case.status = "ready"
    except MMNetEdgeError as exc:
        case.skip(f"{type(exc).__name__}: {exc}")


def inputs_for(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic normalised-looking onset/apex tensors for a case's batch."""
    rng = np.random.default_rng(seed)
    s = case.runner.input_size
    on = rng.standard_normal((case.batch, 3, s, s), dtype=np.float32)
    return on, (on + 0.05 * rng.standard_normal(on.shape, dtype=np.float32)).astype(np.float32)


def _finish(case: Case, interrupted: bool, torch_cuda: bool) -> None:
    case.peak_rss_mb = peak_rss_mb()
    if torch_cuda:
        import torch

        if case.backend == "torch":
            case.cuda_peak_mb = torch.cuda.max_memory_allocated() / 2**20
        case.device_used_mb = cuda_device_used_mb()
    if case.status == "ready":
        if case.samples_ms:
            case.status = "ok"
        else:
            case.skip("interrupted before the first measurement" if interrupted else "not measured")
    with contextlib.suppress(Exception):
        case.runner.close()
    case.runner = None


def run_cases(
    cases: list[Case],
    settings: RunSettings,
    on_progress: Callable[[int, int], None] | None = None,
) -> bool:
    """Open, warm up and measure every pending case round-robin (one call each per round)
    until ``iters`` rounds or ``seconds`` of measurement. Returns False if interrupted
    (Ctrl-C while opening, warming up or measuring): what was measured is kept."""
    active: list[Case] = []
    feeds: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    torch_cuda = False
    completed = True
    try:
        for c in cases:
            if c.status == "pending":
                open_case(c, settings.threads)
                if c.status == "ready":
                    active.append(c)
                    feeds[id(c)] = inputs_for(c)
        torch_cuda = _cuda() and any(c.device.startswith("cuda") for c in active)
        for c in active:  # warm-up: excluded from the numbers
            for _ in range(settings.warmup):
                c.runner.run(*feeds[id(c)])
        if torch_cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        target = settings.iters or 10**9
        rounds = 0
        while rounds < target and active:
            if settings.seconds is not None and time.perf_counter() - start >= settings.seconds:
                break
            for c in active:
                t0 = time.perf_counter()
                c.runner.run(*feeds[id(c)])  # returns host logits: device work is finished
                c.samples_ms.append((time.perf_counter() - t0) * 1e3)
            rounds += 1
            if on_progress:
                on_progress(rounds, settings.iters or 0)
        if settings.agreement_pairs and active:  # after timing: it must not disturb it
            from mmnet_edge.bench.agreement import measure_agreement

            measure_agreement(active, settings.agreement_pairs)
    except KeyboardInterrupt:
        completed = False
    finally:
        for c in cases:
            if c.status in ("ready", "pending"):
                if c.status == "pending":
                    c.skip("interrupted before this case was opened")
                    continue
                _finish(c, not completed, torch_cuda)
    return completed


def case_result(case: Case, gflops: float | None) -> dict[str, Any]:
    """One row of the report's ``results`` (schema in docs/benchmarks.md)."""
    out: dict[str, Any] = {
        "backend": case.backend,
        "precision": case.precision,
        "batch": case.batch,
        "device": case.device,
        "cuda_graph": case.cuda_graph,
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
        latency_per_sample_ms=lat["p50"] / case.batch,
        throughput_per_s=tput,
        achieved_gflops_per_s=tput * gflops if gflops is not None else None,
        samples=len(case.samples_ms),
        peak_rss_mb=case.peak_rss_mb,
        cuda_peak_mb=case.cuda_peak_mb,
        device_used_mb=case.device_used_mb,
        runner=case.runner_info,
        agreement=case.agreement,
    )
    return out
