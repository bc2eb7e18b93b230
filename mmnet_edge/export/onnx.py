"""Checkpoint → ONNX, with metadata, checker and validation against PyTorch."""

from __future__ import annotations

import copy
import importlib.util
import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from mmnet_edge.artifacts.files import atomic_path
from mmnet_edge.artifacts.formats import INPUT_NAMES, OUTPUT_NAME
from mmnet_edge.artifacts.metadata_io import describe as _describe
from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
from mmnet_edge.artifacts.onnx_props import write_onnx_metadata as write_metadata
from mmnet_edge.checkpoint import Checkpoint, load_checkpoint
from mmnet_edge.compare import AgreementReport, compare_logits
from mmnet_edge.errors import ExportError, ValidationError
from mmnet_edge.metadata import ModelMetadata

log = logging.getLogger(__name__)

DEFAULT_OPSET = 17
BATCH_AXIS = "batch"


@dataclass
class ValidationCase:
    """One input case of an export validation (see :func:`mmnet_edge.compare.compare`)."""

    name: str
    batch: int
    report: AgreementReport

    @property
    def max_abs_error(self) -> float:
        return self.report.max_abs_error

    @property
    def max_rel_error(self) -> float:
        return self.report.max_rel_error

    @property
    def top1_agreement(self) -> float:
        return self.report.top1_agreement

    @property
    def passed(self) -> bool:
        return bool(self.report.within_tolerance)


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


class TorchModuleRunner:
    """A torch module behind the runner interface (``run``), as a comparator reference."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model.eval().float().cpu()
        self.max_batch = None

    def run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.model(torch.from_numpy(onset), torch.from_numpy(apex)).numpy()


def validate_onnx(
    model: torch.nn.Module,
    onnx_path: Path,
    meta: ModelMetadata,
    atol: float = 1e-4,
    rtol: float = 1e-3,
    batches: tuple[int, ...] = (1, 4),
) -> ValidationReport:
    """Compare ONNX Runtime (CPU) logits with PyTorch's on the same inputs."""
    from mmnet_edge.runtime.ort_runner import OrtRunner

    report = ValidationReport(atol, rtol)
    reference = TorchModuleRunner(model)
    with OrtRunner(onnx_path, device="cpu") as candidate:
        for name, on, ap in validation_inputs(meta, batches):
            rep = compare_logits(
                reference.run(on, ap), candidate.run(on, ap), meta.class_names, atol, rtol
            )
            report.cases.append(ValidationCase(name, on.shape[0], rep))
    return report


class DecomposedLayerNorm(torch.nn.Module):
    """``nn.LayerNorm`` written as ReduceMean/Sub/Mul/Add/Sqrt/Div, for TensorRT < 8.6
    (JetPack 5: TensorRT 8.5.2), whose ONNX parser has no ``LayerNormalization``."""

    def __init__(self, ln: torch.nn.LayerNorm) -> None:
        super().__init__()
        self.dims = tuple(range(-len(ln.normalized_shape), 0))
        self.eps = float(ln.eps)
        self.weight = ln.weight
        self.bias = ln.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(self.dims, keepdim=True)
        centred = x - mean
        var = (centred * centred).mean(self.dims, keepdim=True)
        y = centred / torch.sqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y


def decompose_layernorms(model: torch.nn.Module) -> tuple[torch.nn.Module, int]:
    """A copy of ``model`` with every ``nn.LayerNorm`` replaced by :class:`DecomposedLayerNorm`."""
    out = copy.deepcopy(model)
    count = 0
    for parent in list(out.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.LayerNorm):
                setattr(parent, name, DecomposedLayerNorm(child))
                count += 1
    return out, count


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
    decompose_layernorm: bool = False,
) -> OnnxExportResult:
    """Export a checkpoint to ONNX (inputs ``onset``, ``apex``; output ``logits``).

    Constant folding is on; ``simplify=None`` runs onnxslim when installed. The graph is
    checked with ``onnx.checker`` (full check) and, unless ``validate=False``, compared
    with PyTorch on random and real-looking inputs at each validation batch size:
    :class:`ValidationError` when ``|onnx − torch| > atol + rtol·|torch|`` anywhere.
    Everything happens on a temporary file: ``output`` is replaced only by a graph that
    passed, so a failed export never destroys a good model.

    ``decompose_layernorm=True`` writes every LayerNorm as elementary ops (no
    ``LayerNormalization`` node) for TensorRT 8.5 (JetPack 5); the graph is validated
    against the *original* PyTorch model, so the rewrite is checked by the comparator.
    """
    t0 = time.perf_counter()
    if opset < 17:
        raise ExportError(f"opset {opset} is too old: LayerNormalization needs opset ≥ 17")
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    output = Path(output)
    model = ckpt.model.eval().float().cpu()
    exported_model = model
    if decompose_layernorm:
        exported_model, _ = decompose_layernorms(model)
    s = ckpt.metadata.input_size
    dummy = torch.randn(1, 3, s, s)
    axes = {n: {0: BATCH_AXIS} for n in (*INPUT_NAMES, OUTPUT_NAME)} if dynamic_batch else None
    meta = ModelMetadata.from_dict(ckpt.metadata.to_dict())
    meta.precision = "fp32"
    meta.source_checkpoint_sha256 = ckpt.sha256
    meta.extra = {**meta.extra, "opset": opset, **_cost(meta)}
    if decompose_layernorm:
        meta.extra["layernorm"] = "decomposed"
    report = None
    simplified = False
    with atomic_path(output) as tmp:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    exported_model,
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
            raise ExportError(f"torch.onnx.export failed: {exc}") from exc
        if simplify or (simplify is None):
            simplified = _simplify(tmp)
            if simplify and not simplified:
                raise ExportError(
                    "simplification requested but onnxslim is not installed/failed: "
                    "pip install onnxslim"
                )
        write_metadata(tmp, meta)
        try:
            onnx.checker.check_model(onnx.load(str(tmp)), full_check=True)
        except Exception as exc:  # noqa: BLE001
            raise ExportError(f"the exported graph fails onnx.checker: {exc}") from exc
        if validate:
            report = validate_onnx(model, tmp, meta, atol, rtol, validation_batches)
            if not report.passed:
                worst = max(report.cases, key=lambda c: c.max_abs_error)
                raise ValidationError(
                    f"{output}: ONNX Runtime differs from PyTorch beyond atol={atol}, "
                    f"rtol={rtol} (worst case {worst.name}: max abs {worst.max_abs_error:.3g}, "
                    f"rel {worst.max_rel_error:.3g}); {output.name} was left as it was. Pass "
                    "--no-validate to keep the graph anyway"
                )
        ops = sorted({n.op_type for n in onnx.load(str(tmp)).graph.node})
        if decompose_layernorm and "LayerNormalization" in ops:
            raise ExportError(
                "LayerNormalization survived decomposition (a graph simplifier fused it back?); "
                "export with simplify=False"
            )
    return OnnxExportResult(output, opset, ops, meta, simplified, report, time.perf_counter() - t0)


def _cost(meta: ModelMetadata) -> dict[str, Any]:
    """GFLOPs per pair, recorded so torch-free installs can report them (bench)."""
    from mmnet_edge.model.flops import model_gflops, model_gflops_by_op

    try:
        return {
            "gflops_per_sample": round(model_gflops(meta.config), 6),
            "gflops_by_op": {k: round(v, 6) for k, v in model_gflops_by_op(meta.config).items()},
        }
    except Exception as exc:  # noqa: BLE001 - a count is context, never a reason to fail
        log.warning("could not count GFLOPs (%s); bench will not report them", exc)
        return {}


def describe_onnx(path: Path | str) -> dict[str, object]:
    """Summary for ``mmnet-edge info`` (kept name; see :func:`mmnet_edge.artifacts.describe`)."""
    return _describe(path)


__all__ = [
    "INPUT_NAMES",
    "OUTPUT_NAME",
    "OnnxExportResult",
    "ValidationReport",
    "describe_onnx",
    "export_onnx",
    "read_onnx_metadata",
    "validate_onnx",
    "write_metadata",
]


def tensorrt_supported_ops() -> set[str]:
    """ONNX ops TensorRT's parser supports in every targeted version (kept in the package)."""
    text = (Path(__file__).parent / "data" / "trt_onnx_ops.txt").read_text()
    return {ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}


def unsupported_by_tensorrt(path: Path | str) -> list[str]:
    """Ops of an ONNX graph that TensorRT's parser would reject (empty list: all fine)."""
    model = onnx.load(str(path), load_external_data=False)
    return sorted({n.op_type for n in model.graph.node} - tensorrt_supported_ops())
