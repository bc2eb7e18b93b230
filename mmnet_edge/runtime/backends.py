"""Backend registry: backend names and aliases → runner classes, and which ONNX file a
backend loads for a precision on a device.

Read by :func:`~mmnet_edge.runtime.loader.open_runner`, the measured choice
(:mod:`mmnet_edge.runtime.autoselect`), ``bench`` and the CLI. Importing it loads no backend
library: the runner modules import theirs on activation.

Which INT8 ONNX file a backend loads on a CPU is the runner's ``int8_formats`` class data
when it has one, else the artefact table's order (see docs/benchmarks.md for the figures).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

from mmnet_edge.artifacts.formats import (
    CONTAINER_BACKENDS,
    container_of,
    resolve_onnx_variant,
)
from mmnet_edge.errors import InputError
from mmnet_edge.runtime.runner import BaseRunner, normalize_device

#: backend → "module:Class"; modules import no backend library at import time
RUNNERS: dict[str, str] = {
    "torch": "mmnet_edge.runtime.torch_runner:TorchRunner",
    "onnxruntime": "mmnet_edge.runtime.ort_runner:OrtRunner",
    "openvino": "mmnet_edge.runtime.openvino_runner:OpenVinoRunner",
    "tensorrt": "mmnet_edge.runtime.trt_runner:TrtRunner",
}
BACKEND_ALIASES = {
    "torch": "torch",
    "pytorch": "torch",
    "onnxruntime": "onnxruntime",
    "ort": "onnxruntime",
    "onnx": "onnxruntime",
    "openvino": "openvino",
    "ov": "openvino",
    "tensorrt": "tensorrt",
    "trt": "tensorrt",
}


def _registered() -> dict[str, str]:
    """Backends whose runner module ships in this installation."""
    return {
        b: spec
        for b, spec in RUNNERS.items()
        if importlib.util.find_spec(spec.split(":")[0]) is not None
    }


BACKENDS = tuple(_registered())
#: which container each backend runs (derived from the runner classes' class data)
BACKEND_FILE_KIND = {b: c for c, bs in CONTAINER_BACKENDS.items() for b in bs if b in BACKENDS}


def runner_class(backend: str) -> type[BaseRunner]:
    """The runner class of a backend (imports its module, which loads no backend library)."""
    module, _, cls = RUNNERS[canonical_backend(backend)].partition(":")
    return getattr(importlib.import_module(module), cls)


def canonical_backend(name: str, auto: bool = True) -> str:
    """``ort``/``trt``/``pytorch``/``ov`` → ``onnxruntime``/``tensorrt``/``torch``/``openvino``.
    ``auto``: whether the caller also takes ``auto`` (the error lists it only then)."""
    key = str(name).strip().lower()
    if key not in BACKEND_ALIASES or BACKEND_ALIASES[key] not in BACKENDS:
        choices = ", ".join((("auto",) if auto else ()) + BACKENDS)
        raise InputError(f"unknown backend {name!r}; choose {choices}")
    return BACKEND_ALIASES[key]


def model_kind(path: str | os.PathLike[str]) -> str:
    """``checkpoint``, ``onnx`` or ``engine`` from the file name (the artefact table)."""
    return container_of(path)


def onnx_variant_path(
    path: str | os.PathLike[str],
    precision: str,
    device: str | None,
    backend: str | None = None,
) -> Path:
    """The sibling ONNX file for ``precision`` on ``device`` (see ``resolve_onnx_variant``);
    for INT8 on a CPU, in the order ``backend``'s runner prefers (``int8_formats``)."""
    target = "cpu" if normalize_device(device) in (None, "cpu") else "gpu"
    order = getattr(runner_class(backend), "int8_formats", None) if backend else None
    return resolve_onnx_variant(path, precision, target, order)


def available_backends() -> dict[str, str]:
    """Backend → ``""`` if its libraries are installed, else what to install."""
    return {b: runner_class(b).unavailable_reason() for b in BACKENDS}


__all__ = [
    "BACKENDS",
    "BACKEND_ALIASES",
    "BACKEND_FILE_KIND",
    "RUNNERS",
    "available_backends",
    "canonical_backend",
    "model_kind",
    "onnx_variant_path",
    "runner_class",
]
