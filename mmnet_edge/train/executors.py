"""Where folds run: in this process (default) or as tasks on a Ray cluster.

An executor maps a job function over fold jobs and reports each result as it arrives, so
the driver records finished folds one by one (an interrupted run resumes from them)::

    executor = make_executor(cfg)
    executor.map(run_fold_job, jobs, on_done)   # on_done(job, outcome) per finished fold

The executors know nothing about training: the driver supplies the job function, and that
function pins its own torch thread count (:func:`fold_threads`, :func:`torch_threads`), so a
fold runs at one count whichever executor — or a custom one — runs it. Ray is the ``[ray]``
extra and is imported only when the Ray executor runs. Torch-free.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from mmnet_edge.errors import BackendUnavailableError
from mmnet_edge.train.config import TrainConfig

log = logging.getLogger(__name__)

J = TypeVar("J")
R = TypeVar("R")

RAY_EXTRA = "pip install 'mmnet-edge[ray]'"


class FoldExecutor(Protocol):
    """Runs ``fn(job)`` for every job; calls ``on_done(job, result)`` as each one finishes."""

    #: recorded with every fold it runs ("in-process", "ray")
    name: str
    #: True when jobs run in other processes or machines (results travel back by value)
    remote: bool

    def map(
        self, fn: Callable[[J], R], jobs: Sequence[J], on_done: Callable[[J, R], None]
    ) -> None: ...


#: torch CPU threads per fold unless ``TrainConfig.threads`` says otherwise — the same in
#: this process and in a Ray task: float sums split over another number of threads round
#: differently, so fold weights are bit-identical only at one thread count (measured: a
#: tiny fold at 1 and 2 threads differs; in-process and on Ray at one count, equal)
DEFAULT_FOLD_THREADS = 2


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - macOS/Windows
        return os.cpu_count() or 1


def fold_threads(cfg: TrainConfig) -> int:
    """Torch threads every fold (and the final model) trains with, on every executor.

    ``cfg.threads``, else :data:`DEFAULT_FOLD_THREADS` (1 where this process may use only one
    CPU). Decided once, by the driver, and carried to every fold in its job.
    """
    if cfg.threads is not None:
        return int(cfg.threads)
    return max(1, min(DEFAULT_FOLD_THREADS, available_cpus()))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """``torch.set_num_threads(n)`` for the block, the previous count restored after."""
    try:
        import torch
    except ImportError:  # pragma: no cover - the job function will say what is missing
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class InProcessExecutor:
    """One fold after another in this process (the default)."""

    name = "in-process"
    remote = False

    def map(self, fn: Callable[[J], R], jobs: Sequence[J], on_done: Callable[[J, R], None]) -> None:
        for job in jobs:
            on_done(job, fn(job))


class RayExecutor:
    """Each fold is a Ray task asking for ``cpus_per_fold`` CPUs and ``gpus_per_fold`` GPUs.

    ``address``: ``None`` starts a local Ray instance (``num_cpus`` CPUs, default all),
    ``"auto"`` joins the cluster this machine belongs to, ``HOST:PORT`` (or
    ``ray://HOST:10001``) a remote one. A Ray instance that is already initialised in this
    process is used as it is. Folds finish in any order; results are reported as they come.
    Every node needs mmnet-edge (``[train]``) installed and, for file-based datasets, the
    dataset at the same path. ``threads`` (the folds' torch thread count, which the job
    pins itself) sizes the CPU request when ``cpus_per_fold`` is not given.
    """

    name = "ray"
    remote = True

    def __init__(
        self,
        address: str | None = None,
        cpus_per_fold: float | None = None,
        gpus_per_fold: float = 0.0,
        threads: int | None = None,
        num_cpus: int | None = None,
    ) -> None:
        self.address = address
        if threads is None:
            threads = max(1, math.floor(cpus_per_fold)) if cpus_per_fold else DEFAULT_FOLD_THREADS
        self.threads = threads
        #: a task asks for as many CPUs as it runs threads, unless told otherwise
        self.cpus_per_fold = float(cpus_per_fold) if cpus_per_fold else float(threads)
        self.gpus_per_fold = gpus_per_fold
        self.num_cpus = num_cpus

    def map(self, fn: Callable[[J], R], jobs: Sequence[J], on_done: Callable[[J, R], None]) -> None:
        if not jobs:
            return
        ray = import_ray()
        started = False
        if not ray.is_initialized():
            init: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
            if self.address:
                init["address"] = self.address
            elif self.num_cpus:
                init["num_cpus"] = self.num_cpus
            ray.init(**init)
            started = True
        task = ray.remote(num_cpus=self.cpus_per_fold, num_gpus=self.gpus_per_fold, max_retries=0)(
            _call
        )
        fn_ref = ray.put(fn)
        pending = {task.remote(fn_ref, job): job for job in jobs}
        log.info("submitted %d fold tasks to Ray", len(pending))
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        raise exc.as_instanceof_cause() from None
                    on_done(job, result)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()


def _call(fn: Callable[[J], R], job: J) -> R:
    """A Ray task's body (a module-level function, so workers can import it)."""
    return fn(job)


def import_ray() -> Any:
    """The ``ray`` module, or BackendUnavailableError naming the ``[ray]`` extra."""
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailableError(
            f"--executor ray needs Ray, which this installation lacks: {RAY_EXTRA}"
        ) from exc
    return ray


def make_executor(cfg: TrainConfig) -> FoldExecutor:
    """The executor ``cfg.executor`` names, configured from ``cfg``."""
    cfg.check_executor()
    if cfg.executor == "ray":
        import_ray()  # fail before any dataset is loaded
        return RayExecutor(cfg.address, cfg.cpus_per_fold, cfg.gpus_per_fold, fold_threads(cfg))
    return InProcessExecutor()


__all__ = [
    "DEFAULT_FOLD_THREADS",
    "RAY_EXTRA",
    "FoldExecutor",
    "InProcessExecutor",
    "RayExecutor",
    "fold_threads",
    "import_ray",
    "make_executor",
    "torch_threads",
]
