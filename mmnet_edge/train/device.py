"""Torch device selection, seeding, deterministic kernels and mixed precision for training."""

from __future__ import annotations

import contextlib
import os
import platform
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from mmnet_edge.errors import ConfigError


def select_device(name: str = "auto") -> torch.device:
    """``auto`` → CUDA, else Apple MPS, else CPU; a named device must be available."""
    name = name.lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda requested but torch sees no CUDA GPU; use --device cpu")
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError("--device mps requested but MPS is not available; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from exc


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


#: cuBLAS needs a fixed workspace for deterministic GEMMs (read when its handle is created)
CUBLAS_WORKSPACE = ":4096:8"


@contextlib.contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """Deterministic kernels for the block; the previous settings are restored after.

    ``torch.use_deterministic_algorithms(True, warn_only=True)`` (an op without a
    deterministic version warns instead of failing the run) and, on CUDA, cuDNN's
    deterministic mode without autotuning plus ``CUBLAS_WORKSPACE_CONFIG`` (set only when
    unset). On CPU the kernels are deterministic already at a fixed thread count; what
    changes the rounding there is the thread count (:func:`mmnet_edge.train.executors
    .torch_threads`).
    """
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    cudnn = torch.backends.cudnn
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        cudnn.deterministic,
        cudnn.benchmark,
    )
    torch.use_deterministic_algorithms(True, warn_only=True)
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        cudnn.deterministic, cudnn.benchmark = before[2], before[3]


def cpu_kind() -> str:
    """This machine's architecture and the vector ISA torch's CPU kernels use, e.g.
    ``x86_64/AVX512``: CPUs of another kind may round differently."""
    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "?")()
    return f"{platform.machine() or '?'}/{capability}"


def autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[Any]:
    """float16 autocast on CUDA when ``amp``; a no-op context otherwise."""
    if amp and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


__all__ = ["autocast", "cpu_kind", "deterministic", "seed_everything", "select_device"]
