"""Model file → runner: backend choice (``auto``) and ONNX precision variants."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from mmnet_edge.errors import BackendUnavailableError, InputError
from mmnet_edge.runtime.runner import BaseRunner

BACKENDS = ("torch", "onnxruntime", "tensorrt")
_SUFFIX_KIND = {
    ".safetensors": "checkpoint",
    ".onnx": "onnx",
    ".engine": "engine",
    ".plan": "engine",
    ".trt": "engine",
}


def model_kind(path: str | os.PathLike[str]) -> str:
    """``checkpoint``, ``onnx`` or ``engine`` from the file name; InputError otherwise."""
    kind = _SUFFIX_KIND.get(Path(path).suffix.lower())
    if kind is None:
        raise InputError(
            f"{path}: unknown model file type; expected a checkpoint (.safetensors), an ONNX "
            "model (.onnx) or a TensorRT engine (.engine)"
        )
    return kind


def onnx_variant_path(path: Path, precision: str, device: str) -> Path:
    """The sibling ONNX file for a precision: ``model.fp16.onnx``, ``model.int8[-cpu].onnx``.

    INT8 on a CPU uses the CPU-target (U8S8) model when it exists: the TensorRT-target
    (symmetric S8S8) model is barely faster than FP32 on ONNX Runtime CPU.
    """
    stem = path.name.split(".")[0]
    if precision == "fp32":
        names = [f"{stem}.onnx"]
    elif precision == "fp16":
        names = [f"{stem}.fp16.onnx"]
    elif precision == "int8":
        names = (
            [f"{stem}.int8-cpu.onnx", f"{stem}.int8.onnx"]
            if device == "cpu"
            else [f"{stem}.int8.onnx"]
        )
    else:
        raise InputError(f"unknown precision {precision!r}; use fp32, fp16 or int8")
    for name in names:
        cand = path.with_name(name)
        if cand.is_file():
            return cand
    raise InputError(
        f"no {precision} variant of {path.name} next to it (looked for {', '.join(names)}); "
        f"create it with `mmnet-edge export CKPT --format onnx --{precision}`"
    )


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def choose_backend(kind: str) -> tuple[str, str]:
    """Fastest available backend for a file kind, with the reason."""
    if kind == "engine":
        return "tensorrt", "TensorRT engine file"
    if kind == "onnx":
        return "onnxruntime", "ONNX file → ONNX Runtime (CUDA provider if installed)"
    if _cuda_available():
        return "torch", "checkpoint on a CUDA machine → PyTorch CUDA"
    return "torch", (
        "checkpoint → PyTorch eager (on CPU it is faster than ONNX Runtime FP32 for MMNet; "
        "export to ONNX INT8 for the fastest CPU path)"
    )


def open_runner(
    path: str | os.PathLike[str],
    backend: str = "auto",
    device: str | None = None,
    precision: str | None = None,
    **options: Any,
) -> BaseRunner:
    """Open ``path`` with ``backend`` (``auto``/``torch``/``onnxruntime``/``tensorrt``)."""
    path = Path(path)
    kind = model_kind(path)
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    reason = f"backend={backend} requested"
    if backend == "auto":
        backend, reason = choose_backend(kind)
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose auto, {', '.join(BACKENDS)}")
    if backend == "torch":
        if kind != "checkpoint":
            raise InputError(f"the torch backend needs a .safetensors checkpoint, not {path.name}")
        from mmnet_edge.runtime.torch_runner import TorchRunner

        runner: BaseRunner = TorchRunner(path, device=device, precision=precision, **options)
    elif backend == "onnxruntime":
        if kind != "onnx":
            raise InputError(
                f"the onnxruntime backend needs an .onnx file, not {path.name}; export one with "
                "`mmnet-edge export CKPT --format onnx`"
            )
        from mmnet_edge.runtime.ort_runner import OrtRunner

        dev = device or "cpu"
        if precision is not None:
            path = onnx_variant_path(path, precision, "cpu" if dev == "cpu" else "cuda")
        runner = OrtRunner(path, device=device, precision=precision, **options)
    else:
        if kind != "engine":
            raise InputError(f"the tensorrt backend needs an .engine file, not {path.name}")
        if not _has("tensorrt"):
            raise BackendUnavailableError(
                "TensorRT is not installed: pip install 'mmnet-edge[tensorrt]' (desktop) or use "
                "the TensorRT that ships with JetPack"
            )
        from mmnet_edge.runtime.trt_runner import TrtRunner

        runner = TrtRunner(path, device=device, **options)
    runner.reason = reason
    return runner
