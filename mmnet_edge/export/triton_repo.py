"""A Triton Inference Server model repository for an exported ONNX model or TensorRT engine.

``write_triton_repository(model, out_dir)`` writes what the standard Triton container
(``nvcr.io/nvidia/tritonserver:<yy.mm>-py3``) serves as is::

    OUT/<name>/config.pbtxt     platform, inputs/outputs, max batch, dynamic batching
    OUT/<name>/1/model.onnx     (onnxruntime_onnx)  or  OUT/<name>/1/model.plan (tensorrt_plan)

Inputs ``onset``/``apex`` are FP32 ``[3, S, S]`` (preprocessed: aligned, resized, RGB,
normalised with the metadata's mean/std), output ``logits`` FP32 ``[C]``; the batch
dimension is implicit (``max_batch_size``). For an engine, the max batch is its optimization
profile's max and the preferred batch sizes its opt/max. The model metadata (class names,
mean/std, input size) travels in ``parameters["mmnet_edge_metadata"]`` as JSON. An engine
only runs on the GPU model and TensorRT version it was built with: build it on (or for)
the serving machine, with the TensorRT the container ships.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mmnet_edge.artifacts.files import atomic_write_text
from mmnet_edge.artifacts.formats import INPUT_NAMES, OUTPUT_NAME, container_of
from mmnet_edge.artifacts.manifests import read_engine_manifest
from mmnet_edge.artifacts.metadata_io import read_metadata
from mmnet_edge.errors import ExportError, InputError
from mmnet_edge.serve.protocol import TENSOR_MODEL

PLATFORMS = {"onnx": "onnxruntime_onnx", "engine": "tensorrt_plan"}
MODEL_FILES = {"onnx": "model.onnx", "engine": "model.plan"}
#: max batch of an ONNX model with a dynamic batch axis when none is asked for
DEFAULT_ONNX_MAX_BATCH = 16


@dataclass
class TritonRepository:
    """What :func:`write_triton_repository` wrote."""

    root: Path
    name: str
    config_path: Path
    model_path: Path
    platform: str
    max_batch: int


def _quote(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid protobuf text-format string


def _dims(values: list[int]) -> str:
    return "[ " + ", ".join(str(v) for v in values) + " ]"


def _onnx_batch_limit(path: Path) -> int | None:
    """The fixed batch size of an ONNX model's inputs (None when the axis is dynamic)."""
    from mmnet_edge.artifacts.onnx_props import read_onnx_header

    header = read_onnx_header(path)
    dims = header.inputs.get(INPUT_NAMES[0], ("", []))[1]
    return dims[0] if dims and isinstance(dims[0], int) and dims[0] > 0 else None


def config_text(
    name: str,
    platform: str,
    input_size: int,
    num_classes: int,
    max_batch: int,
    queue_delay_us: int,
    preferred: list[int],
    instances: int,
    kind: str,
    metadata_json: str,
) -> str:
    """``config.pbtxt`` (protobuf text format of Triton's ``ModelConfig``)."""
    tensor = _dims([3, input_size, input_size])
    inputs = ",\n".join(
        f"  {{\n    name: {_quote(n)}\n    data_type: TYPE_FP32\n    dims: {tensor}\n  }}"
        for n in INPUT_NAMES
    )
    lines = [
        f"name: {_quote(name)}",
        f"platform: {_quote(platform)}",
        f"max_batch_size: {max_batch}",
        f"input [\n{inputs}\n]",
        f"output [\n  {{\n    name: {_quote(OUTPUT_NAME)}\n    data_type: TYPE_FP32\n"
        f"    dims: {_dims([num_classes])}\n  }}\n]",
    ]
    if max_batch > 1:
        pref = "".join(f"\n  preferred_batch_size: {p}" for p in preferred)
        lines.append(
            f"dynamic_batching {{{pref}\n  max_queue_delay_microseconds: {queue_delay_us}\n}}"
        )
    group = f"  {{\n    count: {instances}\n    kind: {kind}"
    if platform == PLATFORMS["engine"]:
        group += '\n    profile: [ "0" ]'
    lines.append(f"instance_group [\n{group}\n  }}\n]")
    lines.append(
        'parameters {\n  key: "mmnet_edge_metadata"\n  value {\n'
        f"    string_value: {_quote(metadata_json)}\n  }}\n}}"
    )
    return "\n".join(lines) + "\n"


def write_triton_repository(
    model: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    max_batch: int | None = None,
    queue_delay_us: int = 500,
    *,
    name: str = TENSOR_MODEL,
    instances: int = 1,
    kind: str | None = None,
) -> TritonRepository:
    """Write a Triton model repository for ``model`` (an ``.onnx`` or ``.engine``).

    ``max_batch``: ONNX default 16 (or the model's fixed batch); an engine's default and
    limit is its profile's max. ``kind``: ``KIND_CPU`` / ``KIND_GPU`` (default: CPU for ONNX,
    GPU for engines). Files are written atomically; an existing model folder is replaced.
    """
    src = Path(model)
    container = container_of(src)
    if container not in PLATFORMS:
        raise InputError(
            f"{src.name}: a Triton repository needs an exported .onnx or .engine, not a "
            "checkpoint; export it first (`mmnet-edge export CKPT --format triton -o DIR`)"
        )
    if queue_delay_us < 0 or instances < 1:
        raise InputError("queue delay must be ≥ 0 µs and instances ≥ 1")
    meta = read_metadata(src)
    if container == "engine":
        manifest = read_engine_manifest(src)
        limit = manifest.max_batch
        opt = int(manifest.profile.get("opt", limit))
        if max_batch is not None and max_batch > limit:
            raise ExportError(
                f"--max-batch {max_batch} exceeds the engine's profile max {limit}; rebuild the "
                f"engine with `mmnet-edge export MODEL.onnx --batch 1,{max_batch},{max_batch}`"
            )
        max_batch = max_batch or limit
        preferred = sorted({p for p in (opt, max_batch) if 1 < p <= max_batch})
        kind = kind or "KIND_GPU"
    else:
        fixed = _onnx_batch_limit(src)
        if fixed is not None and max_batch is not None and max_batch > fixed:
            raise ExportError(f"{src.name} has a fixed batch of {fixed}; use --max-batch {fixed}")
        max_batch = max_batch or fixed or DEFAULT_ONNX_MAX_BATCH
        preferred = [max_batch] if max_batch > 1 else []
        kind = kind or "KIND_CPU"
    if max_batch < 1:
        raise InputError("max batch must be ≥ 1")
    if kind not in ("KIND_CPU", "KIND_GPU"):
        raise InputError(f"instance kind must be KIND_CPU or KIND_GPU, not {kind!r}")

    root = Path(out_dir)
    model_dir = root / name
    version_dir = model_dir / "1"
    if version_dir.exists():
        shutil.rmtree(version_dir)
    version_dir.mkdir(parents=True, exist_ok=True)
    dst = version_dir / MODEL_FILES[container]
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    text = config_text(
        name,
        PLATFORMS[container],
        meta.input_size,
        meta.config.num_classes,
        max_batch,
        queue_delay_us,
        preferred,
        instances,
        kind,
        json.dumps(meta.to_dict(), sort_keys=True, default=str),
    )
    cfg_path = atomic_write_text(model_dir / "config.pbtxt", text)
    return TritonRepository(root, name, cfg_path, dst, PLATFORMS[container], max_batch)


__all__ = ["PLATFORMS", "TritonRepository", "config_text", "write_triton_repository"]
