"""The one table of artefact formats that export, runtime, bench and ``info`` all read.

Every file mmnet-edge writes or opens is one of these formats. A *container* (the file
type) is chosen by the suffix; a *variant* of the FP32 ONNX model or an engine carries a
precision tag before the suffix, derived from the FP32 file's stem::

    mmnet.onnx  →  mmnet.fp16.onnx, mmnet.int8.onnx (TensorRT target),
                   mmnet.int8-cpu.onnx (CPU target), mmnet.fp16.engine (+ .engine.json)

(Ultralytics' ``export_formats()`` shared by exporter and ``AutoBackend`` is the model.)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mmnet_edge.errors import InputError

PathLike = str | os.PathLike[str]

#: what a file holds
PRECISIONS = ("fp32", "fp16", "int8")
#: what a runner can compute in: the file precisions, plus bf16, which runs the FP32 file
#: with bfloat16 arithmetic (OpenVINO's INFERENCE_PRECISION_HINT, torch autocast) on CPUs
#: with bf16 instructions (avx512_bf16 / AMX)
RUN_PRECISIONS = ("fp32", "bf16", "fp16", "int8")
#: the file a compute precision reads
FILE_PRECISION = {"fp32": "fp32", "bf16": "fp32", "fp16": "fp16", "int8": "int8"}
#: the I/O contract of every model artefact: N×3×S×S float inputs → N×C logits
INPUT_NAMES = ("onset", "apex")
OUTPUT_NAME = "logits"
CONTAINERS = ("checkpoint", "onnx", "engine")


@dataclass(frozen=True)
class ArtifactFormat:
    """One row of :data:`FORMATS`."""

    name: str  #: table key, e.g. ``onnx-int8-cpu``
    container: str  #: ``checkpoint`` | ``onnx`` | ``engine``
    suffix: str  #: canonical suffix written by export
    tag: str  #: variant tag before the suffix ("" for the FP32 file)
    precision: str
    target: str  #: where it is meant to run: ``any``, ``cpu``, ``tensorrt``, ``gpu``
    description: str

    def path_for(self, base: PathLike) -> Path:
        """This format's file next to ``base`` (any artefact of the same model)."""
        base = Path(base)
        return base.with_name(f"{base_stem(base)}{self.tag}{self.suffix}")


FORMATS: tuple[ArtifactFormat, ...] = (
    ArtifactFormat(
        "checkpoint", "checkpoint", ".safetensors", "", "fp32", "any",
        "PyTorch weights + metadata (safetensors; training, export, torch runner)",
    ),
    ArtifactFormat(
        "onnx", "onnx", ".onnx", "", "fp32", "any", "FP32 ONNX (ONNX Runtime, OpenVINO, TensorRT)"
    ),
    ArtifactFormat(
        "onnx-fp16", "onnx", ".onnx", ".fp16", "fp16", "gpu",
        "FP16 ONNX with FP32 I/O (strongly typed TensorRT, ONNX Runtime GPU)",
    ),
    ArtifactFormat(
        "onnx-int8", "onnx", ".onnx", ".int8", "int8", "tensorrt",
        "INT8 Q/DQ ONNX, symmetric S8S8, zero points 0 (TensorRT target)",
    ),
    ArtifactFormat(
        "onnx-int8-cpu", "onnx", ".onnx", ".int8-cpu", "int8", "cpu",
        "INT8 Q/DQ ONNX, U8S8 (CPU target: ONNX Runtime on x86/ARM)",
    ),
    ArtifactFormat(
        "onnx-int8-openvino", "onnx", ".onnx", ".int8-openvino", "int8", "openvino",
        "INT8 Q/DQ ONNX, U8S8, all int8 but the attention convs (OpenVINO CPU target)",
    ),
    ArtifactFormat(
        "engine-fp32", "engine", ".engine", ".fp32", "fp32", "tensorrt", "TensorRT engine, FP32"
    ),
    ArtifactFormat(
        "engine-fp16", "engine", ".engine", ".fp16", "fp16", "tensorrt", "TensorRT engine, FP16"
    ),
    ArtifactFormat(
        "engine-int8", "engine", ".engine", ".int8", "int8", "tensorrt", "TensorRT engine, INT8"
    ),
)  # fmt: skip

FORMATS_BY_NAME = {f.name: f for f in FORMATS}


@dataclass(frozen=True)
class Int8Target:
    """One INT8 target: the Q/DQ ONNX file it writes (a row of :data:`FORMATS`) and the
    backend export checks it on (the one that loads it on a CPU)."""

    name: str  #: ``tensorrt`` | ``cpu`` | ``openvino``
    format: str  #: its artefact format, e.g. ``onnx-int8-cpu``
    gate_backend: str  #: ``onnxruntime`` | ``openvino``

    def path_for(self, base: PathLike) -> Path:
        return FORMATS_BY_NAME[self.format].path_for(base)


#: every INT8 target, derived from the INT8 ONNX rows of the table (in its order)
INT8_TARGETS: tuple[Int8Target, ...] = tuple(
    Int8Target(f.target, f.name, "openvino" if f.target == "openvino" else "onnxruntime")
    for f in FORMATS
    if f.container == "onnx" and f.precision == "int8"
)
INT8_TARGET_NAMES: tuple[str, ...] = tuple(t.name for t in INT8_TARGETS)
INT8_TARGETS_BY_NAME = {t.name: t for t in INT8_TARGETS}
#: which INT8 file each backend loads on a CPU, best first (measured: docs/benchmarks.md,
#: "Which INT8 file each CPU backend loads"); on a GPU only the TensorRT target
INT8_PREFERENCE: dict[str, tuple[str, ...]] = {
    "onnxruntime": ("cpu", "tensorrt"),
    "openvino": ("openvino",),
    "gpu": ("tensorrt",),
}


def int8_formats(backend: str) -> tuple[str, ...]:
    """The INT8 artefact formats ``backend`` (or ``gpu``) loads, best first."""
    order = INT8_PREFERENCE.get(backend, INT8_PREFERENCE["onnxruntime"])
    return tuple(INT8_TARGETS_BY_NAME[t].format for t in order)
#: suffix → container; engines are also accepted as ``.plan`` / ``.trt`` (trtexec's names)
SUFFIX_CONTAINER = {
    ".safetensors": "checkpoint",
    ".onnx": "onnx",
    ".engine": "engine",
    ".plan": "engine",
    ".trt": "engine",
}
#: variant tags, longest first so ``.int8-cpu`` wins over ``.int8``
_TAGS = sorted({f.tag for f in FORMATS if f.tag}, key=len, reverse=True)
#: which runner opens each container (runtime reads it; bench and docs too)
CONTAINER_BACKENDS = {
    "checkpoint": ("torch",),
    "onnx": ("onnxruntime", "openvino"),
    "engine": ("tensorrt",),
}
_HOW_TO_MAKE = {
    "checkpoint": "a .safetensors checkpoint (`mmnet-edge train`, or `convert-weights`)",
    "onnx": "an .onnx file (`mmnet-edge export CKPT --format onnx`)",
    "engine": "a TensorRT .engine (`mmnet-edge export MODEL.onnx --format engine` on the GPU)",
}


def container_of(path: PathLike) -> str:
    """``checkpoint``, ``onnx`` or ``engine`` from the file name; InputError otherwise."""
    kind = SUFFIX_CONTAINER.get(Path(path).suffix.lower())
    if kind is None:
        raise InputError(
            f"{path}: unknown model file type {Path(path).suffix!r}; expected a checkpoint "
            "(.safetensors), an ONNX model (.onnx) or a TensorRT engine (.engine)"
        )
    return kind


def how_to_make(container: str) -> str:
    """What a file of this container is and how to produce one (for error messages)."""
    return _HOW_TO_MAKE[container]


def split_name(path: PathLike) -> tuple[str, str, str]:
    """``(stem, tag, suffix)``: ``mmnet.int8-cpu.onnx`` → ``("mmnet", ".int8-cpu", ".onnx")``."""
    p = Path(path)
    suffix = p.suffix
    stem = p.name[: -len(suffix)] if suffix else p.name
    for tag in _TAGS:
        if stem.endswith(tag) and len(stem) > len(tag):
            return stem[: -len(tag)], tag, suffix
    return stem, "", suffix


def base_stem(path: PathLike) -> str:
    """The model's stem without variant tags: ``mmnet`` for every ``mmnet.*.onnx``."""
    return split_name(path)[0]


def format_of(path: PathLike) -> ArtifactFormat:
    """The table row a file name belongs to (``model.fp16.onnx`` → ``onnx-fp16``)."""
    container = container_of(path)
    _, tag, _ = split_name(path)
    if container == "engine" and not tag:
        return FORMATS_BY_NAME["engine-fp16"]  # untagged engines: precision from the sidecar
    if container == "onnx" and tag == ".fp32":
        return FORMATS_BY_NAME["onnx"]
    for f in FORMATS:
        if f.container == container and f.tag == tag:
            return f
    return next(f for f in FORMATS if f.container == container)


def variant_path(path: PathLike, name: str) -> Path:
    """The sibling file of format ``name`` for the model ``path`` belongs to."""
    if name not in FORMATS_BY_NAME:
        raise InputError(f"unknown artefact format {name!r}; known: {', '.join(FORMATS_BY_NAME)}")
    return FORMATS_BY_NAME[name].path_for(path)


def engine_path(path: PathLike, precision: str) -> Path:
    """``model.<precision>.engine`` next to ``path``."""
    return variant_path(path, f"engine-{precision}")


def onnx_candidates(
    path: PathLike, precision: str, target: str, int8_order: Sequence[str] | None = None
) -> list[Path]:
    """ONNX files that can serve ``precision`` on ``target`` (``cpu``/``gpu``), best first.

    INT8 on a CPU: ``int8_order`` (a backend's ``int8_formats``), else ONNX Runtime's order —
    the CPU-target (U8S8) model, then the TensorRT-target (S8S8) one. On a GPU (ONNX Runtime
    CUDA / TensorRT providers) only the TensorRT target.
    """
    if precision not in RUN_PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; use {', '.join(RUN_PRECISIONS)}")
    precision = FILE_PRECISION[precision]
    p = Path(path)
    names = {
        "fp32": ["onnx"],
        "fp16": ["onnx-fp16"],
        "int8": list(
            int8_order
            if int8_order and target == "cpu"
            else int8_formats("onnxruntime" if target == "cpu" else "gpu")
        ),
    }[precision]
    return [variant_path(p, n) for n in names]


def resolve_onnx_variant(
    path: PathLike, precision: str, target: str = "cpu", int8_order: Sequence[str] | None = None
) -> Path:
    """The existing sibling ONNX file for ``precision``; InputError saying how to make it."""
    cands = onnx_candidates(path, precision, target, int8_order)
    for cand in cands:
        if cand.is_file():
            return cand
    precision = FILE_PRECISION[precision]
    flag = "" if precision == "fp32" else f" --{precision}"
    raise InputError(
        f"no {precision} variant of {Path(path).name} next to it (looked for "
        f"{', '.join(c.name for c in cands)}); create it with "
        f"`mmnet-edge export {Path(path).name} --format onnx{flag}`"
        + (
            " --calib CALIB.npz (build the calibration set with `mmnet-edge calibrate build`)"
            if precision == "int8"
            else ""
        )
    )
