"""``export_model``: checkpoint or ONNX → ONNX FP32/FP16/INT8 variants → TensorRT engine or
a Triton model repository.

The one place that decides which files to build, which existing ones are still valid,
and what a run produced; ``mmnet-edge export`` and the demo only call it and print
(Optimum's ``main_export`` behind its CLI is the model). Defaults live in
:class:`ExportSettings`.

A variant is reused only when its metadata says it was made from the same FP32 file
(``source_onnx_sha256``) with the same settings (calibration set and method for INT8);
otherwise it is rebuilt, and the step says which. Every file is written atomically and
validated before it replaces anything.
"""

from __future__ import annotations

import importlib.util
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmnet_edge.artifacts.files import atomic_path
from mmnet_edge.artifacts.formats import (
    INT8_TARGET_NAMES,
    PRECISIONS,
    container_of,
    engine_path,
    variant_path,
)
from mmnet_edge.artifacts.metadata_io import file_sha256, read_onnx_metadata
from mmnet_edge.compare import AgreementReport
from mmnet_edge.errors import BackendUnavailableError, ExportError, InputError
from mmnet_edge.export.engine_options import EngineOptions

if TYPE_CHECKING:
    from mmnet_edge.export.triton_repo import TritonRepository

log = logging.getLogger(__name__)

FORMATS = ("onnx", "engine", "triton")
CALIB_METHODS = ("minmax", "entropy", "percentile")
#: exit code of ``mmnet-edge export`` when ONNX files were written but no engine could be
EXIT_NO_ENGINE = 3


#: every INT8 target (the artefact table's INT8 rows)
INT8_TARGETS: tuple[str, ...] = INT8_TARGET_NAMES


@dataclass
class ExportSettings:
    """Every export default, in one place (the CLI's flags default to these)."""

    fmt: str = "onnx"  #: ``onnx``, ``engine`` or ``triton`` (ONNX files + a model repository)
    precision: str = "fp32"  #: the precision asked for (fp16/int8 add ONNX variants)
    opset: int = 17
    decompose_layernorm: bool = False  #: no LayerNormalization node (TensorRT 8.5 / JetPack 5)
    validate: bool = True
    calib: Any = None  #: calibration set (.npz path or CalibrationSet); None → synthetic
    calib_method: str = "percentile"
    #: INT8 files: TensorRT (``.int8``), ONNX Runtime CPU (``.int8-cpu``), OpenVINO CPU
    #: (``.int8-openvino``)
    int8_targets: tuple[str, ...] = INT8_TARGETS
    force: bool = False  #: rebuild variants even when they match their source
    lint: bool = True  #: lint TensorRT-bound ONNX files against TensorRT's parser tables
    engine: EngineOptions = field(default_factory=EngineOptions)
    #: ``fmt="triton"``: max batch (None: the repository writer's default) and queue delay
    triton_max_batch: int | None = None
    triton_queue_delay_us: int = 500

    def validate_settings(self) -> None:
        if self.fmt not in FORMATS:
            raise InputError(f"format must be one of {FORMATS}, not {self.fmt!r}")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision must be one of {PRECISIONS}, not {self.precision!r}")
        if self.calib_method not in CALIB_METHODS:
            raise InputError(f"calib_method must be one of {CALIB_METHODS}")
        unknown = set(self.int8_targets) - set(INT8_TARGETS)
        if unknown:
            raise InputError(
                f"unknown INT8 targets {sorted(unknown)}; use {', '.join(INT8_TARGETS)}"
            )
        if self.fmt == "engine":
            self.engine.precision = self.precision
            self.engine.validate()


@dataclass
class ExportStep:
    """One stage of an export run."""

    name: str
    status: str  #: ``written``, ``reused`` or ``skipped``
    paths: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    detail: str = ""
    agreement: AgreementReport | None = None


@dataclass
class ExportResult:
    """What :func:`export_model` produced."""

    onnx: Path
    steps: list[ExportStep] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    engine: Path | None = None
    engine_skipped: str | None = None  #: why no engine was built (no TensorRT / GPU here)
    triton: TritonRepository | None = None  #: the model repository (``fmt="triton"``)

    @property
    def written(self) -> list[Path]:
        return [p for s in self.steps if s.status == "written" for p in s.paths]

    @property
    def files(self) -> list[Path]:
        return [p for s in self.steps if s.status in ("written", "reused") for p in s.paths]

    @property
    def exit_code(self) -> int:
        return EXIT_NO_ENGINE if self.engine_skipped else 0


def _source_matches(path: Path, source_sha: str, **settings: Any) -> bool:
    """True when ``path`` exists and records ``source_sha`` and the same ``settings``."""
    if not path.is_file():
        return False
    try:
        extra = read_onnx_metadata(path).extra
    except Exception:  # noqa: BLE001 - unreadable → rebuild it
        return False
    if extra.get("source_onnx_sha256") != source_sha:
        return False
    return all(extra.get(k) == v for k, v in settings.items())


def _stamp(path: Path, source_sha: str, **settings: Any) -> None:
    """Record the FP32 source and the settings in a variant's metadata."""
    from mmnet_edge.artifacts.onnx_props import write_onnx_metadata as write_metadata

    meta = read_onnx_metadata(path)
    meta.extra = {**meta.extra, "source_onnx_sha256": source_sha, **settings}
    write_metadata(path, meta)


def _lint(paths: Sequence[Path], result: ExportResult) -> None:
    """Check TensorRT-bound files against onnx-tensorrt's tables (8.6 and 10.x); a finding
    is a warning here (the file is still useful on ONNX Runtime), an error in the tests."""
    from mmnet_edge.export.trt_lint import lint_onnx, warning_lines

    for p in paths:
        result.warnings += [f"{p.name}: {line}" for line in warning_lines(lint_onnx(p))]


def export_model(
    model: Path | str,
    output: Path | str | None = None,
    settings: ExportSettings | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ExportResult:
    """Export ``model`` (a ``.safetensors`` checkpoint or an FP32 ``.onnx``) for deployment.

    Writes ``OUTPUT/model.onnx`` for a checkpoint (an ONNX input is used in place), then
    ``<stem>.fp16.onnx`` for fp16, ``<stem>.int8.onnx`` (TensorRT target) and
    ``<stem>.int8-cpu.onnx`` (CPU target) for int8, and with ``fmt="engine"``
    ``<stem>.<precision>.engine`` + ``.engine.json``; with ``fmt="triton"`` a Triton model
    repository ``OUTPUT/triton`` serving the ONNX file of ``precision`` (an ``.engine``
    input is also accepted there: its repository serves the engine as is). ``on_step`` is
    told each stage's name.
    """
    s = settings or ExportSettings()
    s.validate_settings()
    model = Path(model)
    kind = container_of(model)
    if not model.is_file():
        raise InputError(f"model file not found: {model}")
    if kind == "engine" and s.fmt != "triton":
        raise InputError(f"{model.name} is already an engine; export a checkpoint or an .onnx")
    if output is None:
        if kind == "checkpoint":
            raise InputError("an output directory is required when exporting a checkpoint")
        output = model.parent
    output = Path(output)
    announce = on_step or (lambda _name: None)
    if kind == "engine":
        result = ExportResult(model)
        result.steps.append(ExportStep("engine", "reused", [model], 0.0, "input file"))
        _triton(model, output, s, result, announce)
        return result

    if kind == "checkpoint":
        from mmnet_edge.export.onnx import export_onnx

        announce("ONNX export (FP32) + checker + validation against PyTorch")
        t0 = time.perf_counter()
        res = export_onnx(
            model,
            output / "model.onnx",
            opset=s.opset,
            validate=s.validate,
            decompose_layernorm=s.decompose_layernorm,
        )
        v = res.validation
        detail = f"opset {res.opset}; " + (
            f"max abs err {v.max_abs_error:.2e}, rel {v.max_rel_error:.2e} "
            f"(atol {v.atol}, rtol {v.rtol})"
            if v
            else "validation skipped"
        )
        result = ExportResult(res.path)
        result.steps.append(
            ExportStep("onnx", "written", [res.path], time.perf_counter() - t0, detail)
        )
        onnx_path = res.path
    else:
        onnx_path = model
        result = ExportResult(onnx_path)
        result.steps.append(ExportStep("onnx", "reused", [onnx_path], 0.0, "input file"))
    # variants go next to the FP32 file's name in the output directory
    base = output / onnx_path.name
    source_sha = file_sha256(onnx_path)
    trt_bound = [onnx_path]

    if s.precision == "fp16":
        target = variant_path(base, "onnx-fp16")
        trt_bound.append(target)
        if not s.force and _source_matches(target, source_sha):
            result.steps.append(
                ExportStep("fp16", "reused", [target], detail="same FP32 source; not rebuilt")
            )
        else:
            from mmnet_edge.export.precision import export_fp16

            announce("FP16 ONNX (FP32 I/O) + agreement on held-out synthetic pairs")
            r16 = export_fp16(onnx_path, target, validate=s.validate)
            _stamp(target, source_sha)
            a = r16.agreement
            result.steps.append(
                ExportStep(
                    "fp16",
                    "written",
                    [target],
                    r16.seconds,
                    f"top-1 agreement {a.top1_agreement:.3f}, max prob err {a.max_prob_error:.2e}"
                    if a
                    else "validation skipped",
                    a,
                )
            )

    if s.precision == "int8":
        _int8(onnx_path, base, source_sha, s, result, announce)
        if "tensorrt" in s.int8_targets:
            trt_bound.append(variant_path(base, "onnx-int8"))  # the TensorRT target

    if s.lint:
        _lint([p for p in trt_bound if p.is_file()], result)

    if s.fmt == "engine":
        from mmnet_edge.export.engine_build import build_engine

        announce(f"TensorRT engine ({s.engine.precision}, batch {s.engine.batch})")
        target = engine_path(base, s.engine.precision)
        try:
            eng = build_engine(onnx_path, target, s.engine)
        except BackendUnavailableError as exc:
            result.engine_skipped = str(exc)
            result.steps.append(ExportStep("engine", "skipped", [], 0.0, str(exc)))
        else:
            m = eng.manifest
            result.engine = eng.path
            result.steps.append(
                ExportStep(
                    "engine",
                    "written",
                    [eng.path, eng.sidecar],
                    eng.seconds,
                    f"TensorRT {m.tensorrt_version}, {m.gpu.get('name')}" if m else "",
                )
            )
    if s.fmt == "triton":
        from mmnet_edge.artifacts.formats import resolve_onnx_variant

        served = (
            onnx_path if s.precision == "fp32" else resolve_onnx_variant(base, s.precision, "cpu")
        )
        _triton(served, output, s, result, announce)
    return result


def _triton(
    model: Path,
    output: Path,
    s: ExportSettings,
    result: ExportResult,
    announce: Callable[[str], None],
) -> None:
    """Write ``output/triton`` serving ``model`` (an exported ONNX file or an engine)."""
    from mmnet_edge.export.triton_repo import write_triton_repository

    announce(f"Triton model repository for {model.name}")
    t0 = time.perf_counter()
    repo = write_triton_repository(
        model, output / "triton", s.triton_max_batch, s.triton_queue_delay_us
    )
    result.triton = repo
    result.steps.append(
        ExportStep(
            "triton",
            "written",
            [repo.config_path, repo.model_path],
            time.perf_counter() - t0,
            f"{repo.platform}, max batch {repo.max_batch}",
        )
    )


def _int8(
    onnx_path: Path,
    base: Path,
    source_sha: str,
    s: ExportSettings,
    result: ExportResult,
    announce: Callable[[str], None],
) -> None:
    from mmnet_edge.calibration.dataset import load_calibration_set
    from mmnet_edge.calibration.gate import GATE_KEY, GATE_REVISION, OnnxGate
    from mmnet_edge.calibration.int8_layout import LAYOUT_REVISION_BY_TARGET, TARGET_FORMATS
    from mmnet_edge.calibration.quantize import SyntheticCalibrationWarning, quantize_target
    from mmnet_edge.calibration.sources import from_synthetic

    meta = read_onnx_metadata(onnx_path)
    if s.calib is None:
        msg = (
            "no calibration set given: calibrating INT8 on the SYNTHETIC set. Ranges from "
            "synthetic faces may not fit real cameras — build a real one with "
            "`mmnet-edge calibrate build` and pass --calib"
        )
        warnings.warn(msg, SyntheticCalibrationWarning, stacklevel=3)
        result.warnings.append(msg)
        cs = from_synthetic(meta.input_size)
    elif isinstance(s.calib, (str, Path)):
        cs = load_calibration_set(s.calib)
    else:
        cs = s.calib
    calib_sha = cs.manifest.get("sha256") or cs.sha256()
    gate = OnnxGate(onnx_path)
    for target in s.int8_targets:
        settings = {
            "calibration_sha256": calib_sha,
            "calibration_method": s.calib_method,
            "int8_layout": "default",
            # a file from an earlier default layout, or gated on other sets, is rebuilt
            "int8_layout_revision": LAYOUT_REVISION_BY_TARGET[target],
            "int8_gate_revision": GATE_REVISION,
        }
        path = variant_path(base, TARGET_FORMATS[target])
        name = f"int8-{target}"
        if not s.force and _source_matches(path, source_sha, **settings):
            recorded = read_onnx_metadata(path).extra.get(GATE_KEY) or {}
            detail = "same FP32 source and calibration"
            if recorded and not recorded.get("passed"):
                detail += f"; failed the agreement gate (worst {recorded.get('worst')})"
                result.warnings.append(f"{path.name}: {detail}: not recommended")
            result.steps.append(ExportStep(name, "reused", [path], detail=detail))
            continue
        announce(f"INT8 Q/DQ model, {target} target ({s.calib_method} calibration)")
        t0 = time.perf_counter()
        with atomic_path(path) as tmp:
            quantize_target(onnx_path, cs, tmp, target, s.calib_method)
            # gated on independent held-out sets, each file on the backend that loads it
            # (where installed); the verdict travels in the file's metadata
            ov = target == "openvino" and importlib.util.find_spec("openvino") is not None
            verdict = gate.check(tmp, "openvino" if ov else "onnxruntime")
            _stamp(tmp, source_sha, **settings, **{GATE_KEY: verdict.to_dict()})
        where = "OpenVINO CPU" if ov else "ONNX Runtime CPU"
        if target == "openvino" and not ov:
            where += "; OpenVINO is not installed here"
        if not verdict.passed:
            result.warnings.append(f"{path.name}: {verdict.summary()}")
        result.steps.append(
            ExportStep(
                name,
                "written",
                [path],
                time.perf_counter() - t0,
                f"{verdict.summary()} ({where})",
                verdict.worst.report,
            )
        )


__all__ = [
    "EXIT_NO_ENGINE",
    "ExportResult",
    "ExportSettings",
    "ExportStep",
    "ExportError",
    "export_model",
]
