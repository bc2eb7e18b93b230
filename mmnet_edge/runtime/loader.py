"""Model file → runner: the ``auto`` choice and device resolution (the backend table is
:mod:`mmnet_edge.runtime.backends`).

``open_runner(path, backend="auto")`` picks, from the artefact table
(:data:`mmnet_edge.artifacts.formats.CONTAINER_BACKENDS`) and each runner's class data:

* ``.engine`` → ``tensorrt``: the only backend that runs an engine;
* ``.onnx`` → ``onnxruntime``, on CUDA (TensorRT/CUDA execution providers) when
  ``onnxruntime-gpu`` sees a GPU, else on the CPU; ``openvino`` when asked for;
* ``.safetensors`` → ``torch`` (the ``[train]`` extra), on CUDA when available, else CPU.
  A checkpoint stays on torch even on a CPU: converting it silently would hide a slow
  export step and a second file; the reason says to export for the fastest path.

The device is resolved once, here, and both the ONNX variant
(:func:`~mmnet_edge.runtime.backends.onnx_variant_path`) and the runner use it.

``backend="auto"`` can also follow measurements instead of this fixed preference:
``recommendation=`` a ``mmnet-edge bench`` JSON (or its dict) for the same model and CPU, or
``probe=True`` to time the CPU candidates on load (:mod:`mmnet_edge.runtime.autoselect`).
The choice and why is kept in ``runner.reason``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from mmnet_edge.artifacts.formats import (
    RUN_PRECISIONS,
    container_of,
    how_to_make,
)
from mmnet_edge.artifacts.gate_record import Int8GateWarning, gate_failure
from mmnet_edge.errors import BackendUnavailableError, InputError
from mmnet_edge.runtime.backends import (
    canonical_backend,
    onnx_variant_path,
    runner_class,
)
from mmnet_edge.runtime.runner import BaseRunner, has_module, missing_backend, normalize_device


def check_variant_source(variant: Path, fp32: Path, precision: str) -> None:
    """Refuse a variant whose metadata says it was made from another FP32 file."""
    from mmnet_edge.artifacts.formats import format_of
    from mmnet_edge.artifacts.metadata_io import file_sha256, read_onnx_metadata

    if format_of(fp32).precision != "fp32":
        return  # opened through another variant: nothing to compare against
    recorded = read_onnx_metadata(variant).extra.get("source_onnx_sha256")
    if recorded and recorded != file_sha256(fp32):
        raise InputError(
            f"{variant.name} was made from another model than {fp32.name} (its recorded "
            f"source differs): re-export it with `mmnet-edge export {fp32.name} "
            f"--format onnx --{precision}`"
        )


def torch_cuda_available() -> bool:
    """True when an importable torch sees a CUDA device (False without torch)."""
    if not has_module("torch"):
        return False
    import torch

    return bool(torch.cuda.is_available())


def ort_cuda_providers() -> list[str]:
    """ONNX Runtime GPU execution providers available here (empty on CPU builds)."""
    from mmnet_edge.runtime.ort_runner import ort_gpu_providers

    return ort_gpu_providers()


def resolve_device(backend: str, device: str | None) -> str:
    """The one device a backend will use: the request, or the best this machine offers."""
    device = normalize_device(device)
    if device is not None:
        return device
    if backend == "tensorrt":
        return "cuda:0"
    if backend == "onnxruntime":
        return "cuda:0" if ort_cuda_providers() else "cpu"
    if backend == "torch":
        return "cuda:0" if torch_cuda_available() else "cpu"
    return "cpu"


def choose_backend(kind: str, device: str | None = None) -> tuple[str, str]:
    """Fastest available backend for a file kind (and device), with the reason."""
    if kind == "engine":
        return "tensorrt", "TensorRT engine → native TensorRT runner"
    if kind == "onnx":
        gpu = ort_cuda_providers()
        if device != "cpu" and gpu:
            return "onnxruntime", f"ONNX file → ONNX Runtime with {gpu[0]} (a GPU provider exists)"
        why = (
            "device=cpu requested"
            if device == "cpu"
            else "onnxruntime has no GPU provider here (CPU build, or no CUDA device)"
        )
        return "onnxruntime", f"ONNX file → ONNX Runtime CPUExecutionProvider ({why})"
    if device != "cpu" and torch_cuda_available():
        return "torch", "checkpoint → PyTorch on CUDA (torch.cuda.is_available() is True)"
    return "torch", (
        "checkpoint → PyTorch eager on the CPU (no CUDA device seen by torch); for the fastest "
        "CPU path export to ONNX (ONNX Runtime FP32, or INT8 after calibration) and open the .onnx"
    )


def open_runner(
    path: str | os.PathLike[str],
    backend: str = "auto",
    device: str | None = None,
    precision: str | None = None,
    activate: bool = True,
    recommendation: str | os.PathLike[str] | dict[str, Any] | None = None,
    probe: bool | dict[str, Any] = False,
    **options: Any,
) -> BaseRunner:
    """Open ``path`` with ``backend`` (``auto`` or a name in :data:`BACKENDS`).

    ``device``: ``cpu``, ``cuda`` or ``cuda:N`` (default: the best available).
    ``precision``: ``fp32``/``fp16``/``int8``; for an ONNX file it selects the sibling
    variant (``model.int8-cpu.onnx`` on a CPU, ``model.int8.onnx`` on a GPU), for a
    checkpoint the torch dtype, for an engine it must match what the engine was built with.
    ``activate=False`` returns the runner without loading anything (call ``activate()``).
    With ``backend="auto"`` and no ``precision``: ``recommendation`` (a ``mmnet-edge bench``
    JSON path or dict) picks the measured fastest backend × precision that passed the
    agreement gate, when it was measured for this model on this CPU; ``probe=True`` (or a
    dict of :func:`~mmnet_edge.runtime.autoselect.probe` arguments: ``iters``, ``pairs``,
    ``gate``) times the CPU candidates now. Either falls back to the fixed preference, and
    ``runner.reason`` says what was measured or why it was not used.
    ``options`` go to the runner: ``threads`` (torch, ORT, OpenVINO), ``spin``,
    ``graph_optimization``, ``inter_threads``, ``provider_options`` (ORT), ``cuda_graph``
    (torch, TensorRT), ``buffers`` (TensorRT: ``cuda-python``, ``pycuda`` or an object).
    """
    path = Path(path)
    kind = container_of(path)
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    if precision is not None and precision not in RUN_PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; use {', '.join(RUN_PRECISIONS)}")
    device = normalize_device(device)
    chosen = None
    if backend == "auto" and (recommendation is not None or probe):
        chosen = _measured_choice(path, kind, device, precision, recommendation, probe, options)
    if chosen is not None and chosen.backend is not None:
        backend, reason, precision = chosen.backend, chosen.reason, chosen.precision
        path, options = chosen.path or path, {**chosen.options, **options}
        device = normalize_device(chosen.device) or device  # where it was measured
    elif backend == "auto":
        backend, reason = choose_backend(kind, device)
        if chosen is not None:
            reason = f"{chosen.reason}; fixed preference: {reason}"
    else:
        backend = canonical_backend(backend)
        reason = f"backend={backend} requested"
    cls = runner_class(backend)
    if kind not in cls.containers:
        raise InputError(
            f"the {backend} backend needs {how_to_make(cls.containers[0])}, not {path.name}"
        )
    if cls.unavailable_reason():
        raise missing_backend(cls)
    device = resolve_device(backend, device)
    if kind == "onnx" and precision is not None:
        variant = onnx_variant_path(path, precision, device, backend)
        if variant != path:
            check_variant_source(variant, path, precision)
        path = variant
    runner = cls(path, device=device, precision=precision, **options)
    runner.reason = reason
    failed = gate_failure(path) if kind == "onnx" and precision == "int8" else ""
    if failed:  # asked for explicitly: run it, but say it is not recommended
        warnings.warn(failed, Int8GateWarning, stacklevel=2)
        runner.reason += f"; {failed}"
    if activate:
        runner.activate()
    return runner


def _measured_choice(
    path: Path,
    kind: str,
    device: str | None,
    precision: str | None,
    recommendation: Any,
    probe: bool | dict[str, Any],
    options: dict[str, Any],
) -> Any:
    """A :class:`~mmnet_edge.runtime.autoselect.Choice` from a bench result or a probe."""
    from mmnet_edge.runtime import autoselect

    if precision is not None:
        return autoselect.Choice(
            None, None, None, f"precision={precision} given: measurements not consulted"
        )
    notes = []
    if recommendation is not None:
        choice = autoselect.follow_recommendation(recommendation, path, kind, device)
        if choice.backend is not None:
            return choice
        notes.append(choice.reason)
    if probe:
        if kind != "onnx" or device not in (None, "cpu"):
            notes.append("probe skipped: it times CPU backends on an ONNX model")
        else:
            kw = dict(probe) if isinstance(probe, dict) else {}
            kw.setdefault("threads", options.get("threads"))
            choice = autoselect.probe(path, **kw)
            if choice.backend is not None:
                if notes:
                    choice.reason = f"{'; '.join(notes)}; {choice.reason}"
                return choice
            notes.append(choice.reason)
    return autoselect.Choice(None, None, None, "; ".join(notes))


__all__ = [
    "BackendUnavailableError",
    "choose_backend",
    "open_runner",
    "resolve_device",
]
