"""Where folds run: in this process (default) or as tasks on a Ray cluster.

An executor maps a job function over fold jobs and reports each result as it arrives, so
the driver records finished folds one by one (an interrupted run resumes from them)::

    executor = make_executor(cfg)
    executor.map(run_fold_job, jobs, on_done)   # on_done(job, outcome) per finished fold

The executors know nothing about training: the driver supplies the job function. Ray is
the ``[ray]`` extra and is imported only when the Ray executor runs. Torch-free.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from mmnet_edge.errors import BackendUnavailableError
from mmnet_edge.train.config import TrainConfig

log = logging.getLogger(__name__)

J = TypeVar("J")
R = TypeVar("R")

RAY_EXTRA = "pip install 'mmnet-edge[ray]'"


class FoldExecutor(Protocol):
    """Runs ``fn(job)`` for every job; calls ``on_done(job, result)`` as each one finishes."""

    #: True when jobs run in other processes or machines (results travel back by value)
    remote: bool

    def map(
        self, fn: Callable[[J], R], jobs: Sequence[J], on_done: Callable[[J, R], None]
    ) -> None: ...


class InProcessExecutor:
    """One fold after another in this process (the default; what ``train`` always did)."""

    remote = False

    def map(self, fn: Callable[[J], R], jobs: Sequence[J], on_done: Callable[[J, R], None]) -> None:
        for job in jobs:
            on_done(job, fn(job))


def _run_with_threads(fn: Callable[[J], R], job: J, threads: int) -> R:
    """Ray task body: pin torch's CPU threads to the task's CPU share, then run the job."""
    try:
        import torch

        torch.set_num_threads(max(1, threads))
    except ImportError:  # pragma: no cover - the job function will say what is missing
        pass
    return fn(job)


class RayExecutor:
    """Each fold is a Ray task asking for ``cpus_per_fold`` CPUs and ``gpus_per_fold`` GPUs.

    ``address``: ``None`` starts a local Ray instance (``num_cpus`` CPUs, default all),
    ``"auto"`` joins the cluster this machine belongs to, ``HOST:PORT`` (or
    ``ray://HOST:10001``) a remote one. A Ray instance that is already initialised in this
    process is used as it is. Folds finish in any order; results are reported as they come.
    Every node needs mmnet-edge (``[train]``) installed and, for file-based datasets, the
    dataset at the same path.
    """

    remote = True

    def __init__(
        self,
        address: str | None = None,
        cpus_per_fold: float = 1.0,
        gpus_per_fold: float = 0.0,
        threads: int | None = None,
        num_cpus: int | None = None,
    ) -> None:
        self.address = address
        self.cpus_per_fold = cpus_per_fold
        self.gpus_per_fold = gpus_per_fold
        self.threads = threads or max(1, math.floor(cpus_per_fold))
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
            _run_with_threads
        )
        fn_ref = ray.put(fn)
        pending = {task.remote(fn_ref, job, self.threads): job for job in jobs}
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
        return RayExecutor(cfg.address, cfg.cpus_per_fold, cfg.gpus_per_fold, cfg.threads)
    return InProcessExecutor()


__all__ = [
    "RAY_EXTRA",
    "FoldExecutor",
    "InProcessExecutor",
    "RayExecutor",
    "import_ray",
    "make_executor",
]
