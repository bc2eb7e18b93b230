"""Checkpoint → ONNX, with metadata, checker and validation against PyTorch."""

from __future__ import annotations

import importlib.util
import logging
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch

from mmnet_edge.checkpoint import Checkpoint, file_sha256, load_checkpoint
from mmnet_edge.errors import CheckpointError, ExportError, ValidationError
from mmnet_edge.metadata import ModelMetadata, metadata_from_props, metadata_to_props

log = logging.getLogger(__name__)

DEFAULT_OPSET = 17
INPUT_NAMES = ("onset", "apex")
OUTPUT_NAME = "logits"
BATCH_AXIS = "batch"


@dataclass
class ValidationCase:
    name: str
    batch: int
    max_abs_error: float
    max_rel_error: float
    top1_agreement: float
    passed: bool


@dataclass
class ValidationReport:
    atol: float
    rtol: float
    cases: list[ValidationCase] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    @property
    def max_abs_error(self) -> float:
        return max((c.max_abs_error for c in self.cases), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((c.max_rel_error for c in self.cases), default=0.0)


@dataclass
class OnnxExportResult:
    path: Path
    opset: int
    ops: list[str]
    metadata: ModelMetadata
    simplified: bool
    validation: ValidationReport | None
    seconds: float


def realistic_pair(batch: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Smooth image-like RGB uint8 onset frames and apexes with a small local shift."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    onsets, apexes = [], []
    for _ in range(batch):
        base = np.zeros((size, size, 3), np.float32)
        for c in range(3):
            for _ in range(4):
                fx, fy, ph = rng.uniform(0.5, 3, 2).tolist() + [rng.uniform(0, 6.28)]
                base[..., c] += np.sin(2 * np.pi * (fx * xx + fy * yy) + ph)
        base = (base - base.min()) / (np.ptp(base) + 1e-6) * 200 + 25
        onset = base.astype(np.uint8)
        apex = base.copy()
        y0, x0 = rng.integers(size // 4, size // 2, 2)
        h = size // 6
        apex[y0 : y0 + h, x0 : x0 + h] = np.roll(base[y0 : y0 + h, x0 : x0 + h], 2, axis=0)
        onsets.append(onset)
        apexes.append(apex.astype(np.uint8))
    return np.stack(onsets), np.stack(apexes)


def validation_inputs(
    meta: ModelMetadata, batches: tuple[int, ...] = (1, 4), seed: int = 0
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Random-normal and real-looking (preprocessed) input pairs at each batch size."""
    from mmnet_edge.preprocess import to_tensor

    rng = np.random.default_rng(seed)
    s = meta.input_size
    cases = []
    for b in batches:
        on = rng.standard_normal((b, 3, s, s), dtype=np.float32)
        ap = (on + 0.1 * rng.standard_normal((b, 3, s, s))).astype(np.float32)
        cases.append((f"random-b{b}", on, ap))
        on_img, ap_img = realistic_pair(b, s, seed + b)
        cases.append(
            (
                f"realistic-b{b}",
                to_tensor(list(on_img), s, meta.mean, meta.std),
                to_tensor(list(ap_img), s, meta.mean, meta.std),
            )
        )
    return cases


def compare_logits(
    name: str, ref: np.ndarray, got: np.ndarray, atol: float, rtol: float
) -> ValidationCase:
    err = np.abs(ref.astype(np.float64) - got.astype(np.float64))
    rel = float(err.max() / max(np.abs(ref).max(), 1e-12))
    ok = bool(np.all(err <= atol + rtol * np.abs(ref))) and np.isfinite(got).all()
    agree = float((ref.argmax(-1) == got.argmax(-1)).mean())
    return ValidationCase(name, ref.shape[0], float(err.max()), rel, agree, bool(ok))


def validate_onnx(
    model: torch.nn.Module,
    onnx_path: Path,
    meta: ModelMetadata,
    atol: float = 1e-4,
    rtol: float = 1e-3,
    batches: tuple[int, ...] = (1, 4),
) -> ValidationReport:
    """Compare ONNX Runtime (CPU) logits with PyTorch's on the same inputs."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    report = ValidationReport(atol, rtol)
    model = model.eval().float().cpu()
    for name, on, ap in validation_inputs(meta, batches):
        with torch.inference_mode():
            ref = model(torch.from_numpy(on), torch.from_numpy(ap)).numpy()
        (got,) = sess.run([OUTPUT_NAME], {"onset": on, "apex": ap})
        report.cases.append(compare_logits(name, ref, got, atol, rtol))
    return report


def _simplify(path: Path) -> bool:
    if importlib.util.find_spec("onnxslim") is None:
        return False
    import onnxslim

    try:
        slim = onnxslim.slim(str(path))
    except Exception as exc:  # noqa: BLE001 - optional step; keep the unsimplified graph
        log.warning("onnxslim failed (%s); keeping the unsimplified graph", exc)
        return False
    onnx.save(slim, str(path))
    return True


def write_metadata(path: Path, meta: ModelMetadata) -> None:
    """Replace the mmnet-edge entries of an ONNX file's ``metadata_props``."""
    model = onnx.load(str(path))
    props = metadata_to_props(meta)
    keep = [p for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for k, v in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    model.producer_name = "mmnet-edge"
    onnx.save(model, str(path))


def export_onnx(
    checkpoint: Path | str | Checkpoint,
    output: Path | str,
    *,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = True,
    simplify: bool | None = None,
    validate: bool = True,
    atol: float = 1e-4,
    rtol: float = 1e-3,
    validation_batches: tuple[int, ...] = (1, 4),
) -> OnnxExportResult:
    """Export a checkpoint to ONNX (inputs ``onset``, ``apex``; output ``logits``).

    Constant folding is on; ``simplify=None`` runs onnxslim when installed. The graph is
    checked with ``onnx.checker`` (full check) and, unless ``validate=False``, compared
    with PyTorch on random and real-looking inputs at each validation batch size:
    :class:`ValidationError` when ``|onnx − torch| > atol + rtol·|torch|`` anywhere.
    """
    t0 = time.perf_counter()
    if opset < 17:
        raise ExportError(f"opset {opset} is too old: LayerNormalization needs opset ≥ 17")
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    model = ckpt.model.eval().float().cpu()
    s = ckpt.metadata.input_size
    dummy = torch.randn(1, 3, s, s)
    axes = {n: {0: BATCH_AXIS} for n in (*INPUT_NAMES, OUTPUT_NAME)} if dynamic_batch else None
    tmp = output.with_suffix(".tmp.onnx")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (dummy, dummy),
                str(tmp),
                dynamo=False,
                opset_version=opset,
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                dynamic_axes=axes,
                do_constant_folding=True,
            )
    except Exception as exc:  # noqa: BLE001 - exporter errors are many and deep
        tmp.unlink(missing_ok=True)
        raise ExportError(f"torch.onnx.export failed: {exc}") from exc
    simplified = False
    if simplify or (simplify is None):
        simplified = _simplify(tmp)
        if simplify and not simplified:
            raise ExportError(
                "simplification requested but onnxslim is not installed/failed: "
                "pip install onnxslim"
            )
    meta = ModelMetadata.from_dict(ckpt.metadata.to_dict())
    meta.precision = "fp32"
    meta.source_checkpoint_sha256 = ckpt.sha256
    meta.extra = {**meta.extra, "opset": opset}
    write_metadata(tmp, meta)
    try:
        onnx.checker.check_model(onnx.load(str(tmp)), full_check=True)
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"the exported graph fails onnx.checker: {exc}") from exc
    os.replace(tmp, output)
    report = None
    if validate:
        report = validate_onnx(model, output, meta, atol, rtol, validation_batches)
        if not report.passed:
            worst = max(report.cases, key=lambda c: c.max_abs_error)
            raise ValidationError(
                f"{output}: ONNX Runtime differs from PyTorch beyond atol={atol}, rtol={rtol} "
                f"(worst case {worst.name}: max abs {worst.max_abs_error:.3g}, rel "
                f"{worst.max_rel_error:.3g}); pass --no-validate to keep it anyway"
            )
    ops = sorted({n.op_type for n in onnx.load(str(output)).graph.node})
    return OnnxExportResult(output, opset, ops, meta, simplified, report, time.perf_counter() - t0)


def read_onnx_metadata(path: Path | str) -> ModelMetadata:
    """The :class:`ModelMetadata` stored in an ONNX file's ``metadata_props``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"ONNX model not found: {path}")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"{path} is not a readable ONNX file: {exc}") from exc
    return metadata_from_props({p.key: p.value for p in model.metadata_props}, str(path))


def describe_onnx(path: Path | str) -> dict[str, object]:
    """Summary for ``mmnet-edge info``."""
    path = Path(path)
    meta = read_onnx_metadata(path)
    model = onnx.load(str(path))
    inputs = {
        i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
        for i in model.graph.input
    }
    ops = sorted({n.op_type for n in model.graph.node})
    d = meta.to_dict()
    return {
        "kind": "onnx",
        "path": str(path),
        "sha256": file_sha256(path),
        "size_bytes": path.stat().st_size,
        "opset": max(
            (o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=None
        ),
        "inputs": inputs,
        "ops": ops,
        **{
            k: d[k]
            for k in (
                "class_names",
                "input_size",
                "mean",
                "std",
                "precision",
                "source_checkpoint_sha256",
                "mmnet_edge_version",
                "config",
            )
        },
    }


def tensorrt_supported_ops() -> set[str]:
    """ONNX ops TensorRT's parser supports in every targeted version (kept in the package)."""
    text = (Path(__file__).parent / "data" / "trt_onnx_ops.txt").read_text()
    return {ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}


def unsupported_by_tensorrt(path: Path | str) -> list[str]:
    """Ops of an ONNX graph that TensorRT's parser would reject (empty list: all fine)."""
    model = onnx.load(str(path), load_external_data=False)
    return sorted({n.op_type for n in model.graph.node} - tensorrt_supported_ops())
