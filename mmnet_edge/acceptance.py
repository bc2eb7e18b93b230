"""One command that proves the GPU half: ``mmnet-edge doctor --acceptance [--output DIR]``.

Runs, in order: environment; CUDA buffer round trips (cuda-python, pycuda); FP32/FP16
engine builds, strongly and weakly typed, with a reused timing cache; the TensorRT runner
at batch 1 / mid / max against ONNX Runtime CPU (through :func:`mmnet_edge.compare.compare`);
INT8 build with accuracy and latency against FP16; the legacy calibrator; a
version-compatible build → load; PyTorch CUDA graphs against eager; ONNX Runtime CUDA and
TensorRT providers; on Jetson, DLA. Each step is ``passed``, ``failed`` (with the error)
or ``skipped`` (with the reason). The report goes to
``benchmarks/results/<device>/acceptance.{json,md}``; any failure makes the exit code 1.
With no GPU everything GPU-side is skipped and the report says that nothing GPU-side was
proven. A tiny seeded model (random weights) is used: this checks the machinery, not
accuracy on real data.
"""

from __future__ import annotations

import json
import platform
import re
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.artifacts.files import atomic_write_text
from mmnet_edge.artifacts.platform import gpu_facts, jetson_facts
from mmnet_edge.compare import AGREEMENT_GATE
from mmnet_edge.runtime.runner import has_module

#: steps that exercise the GPU (one passed is "something GPU-side was proven")
GPU_STEPS = frozenset(
    {
        "cuda-buffers (cuda-python)",
        "cuda-buffers (pycuda)",
        "engine builds",
        "tensorrt runner vs ort cpu",
        "int8 engine",
        "legacy calibrator",
        "version-compatible engine",
        "torch cuda graphs",
        "ort cuda/tensorrt providers",
        "dla",
    }
)


class Skip(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a step that cannot run here; the message is the reason."""


@dataclass
class StepResult:
    name: str
    status: str  # passed | failed | skipped
    detail: str = ""
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class AcceptanceReport:
    device: str
    environment: dict[str, Any] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    started: str = ""

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "failed"]

    @property
    def gpu_proven(self) -> bool:
        return any(s.status == "passed" and s.name in GPU_STEPS for s in self.steps)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    @property
    def verdict(self) -> str:
        if self.failed:
            return f"FAILED: {', '.join(s.name for s in self.failed)}"
        if not self.gpu_proven:
            return (
                "NOTHING GPU-SIDE WAS PROVEN on this machine: every GPU step was skipped "
                "(see the reasons); run this on a machine with an NVIDIA GPU and TensorRT"
            )
        skipped = [s.name for s in self.steps if s.status == "skipped"]
        return "PASSED" + (f" (skipped: {', '.join(skipped)})" if skipped else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "started": self.started,
            "verdict": self.verdict,
            "gpu_proven": self.gpu_proven,
            "environment": self.environment,
            "steps": [asdict(s) for s in self.steps],
        }

    def to_markdown(self) -> str:
        lines = [
            f"# mmnet-edge GPU acceptance — {self.device}",
            "",
            f"Started {self.started}. **{self.verdict}**",
            "",
            "| step | status | seconds | detail |",
            "|---|---|---|---|",
        ]
        for s in self.steps:
            detail = s.detail.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {s.name} | {s.status} | {s.seconds:.1f} | {detail} |")
        lines += ["", "## Environment", "", "```json", json.dumps(self.environment, indent=2)]
        lines += ["```", ""]
        return "\n".join(lines)


class Context:
    """What the steps share: a work folder, the facts found, the artefacts built so far."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.gpu: dict[str, Any] = {}
        self.no_gpu_reason = "no CUDA device (cuda-python's cudaGetDeviceCount found none)"
        self.torch_cuda = False
        self.trt: Any = None
        self.checkpoint: Path | None = None
        self.onnx: Path | None = None
        self.engines: dict[str, Path] = {}
        self.timings: dict[str, float] = {}

    def load_tensorrt(self) -> None:
        from mmnet_edge.artifacts.platform import import_tensorrt

        self.trt = import_tensorrt()

    # prerequisites, each a Skip with the reason when missing
    def need_gpu(self) -> None:
        if not self.gpu:
            raise Skip(self.no_gpu_reason)

    def need_trt(self) -> Any:
        self.need_gpu()
        if self.trt is None:
            raise Skip("TensorRT is not installed (pip install 'mmnet-edge[tensorrt]')")
        return self.trt

    def need_onnx(self) -> Path:
        if self.onnx is None:
            raise Skip("no ONNX model: the model step did not run (needs the [train] extra)")
        return self.onnx

    def need_engine(self, key: str) -> Path:
        if key not in self.engines:
            raise Skip(f"no {key} engine: its build step did not pass")
        return self.engines[key]

    def inputs(self, n: int = 32) -> list[tuple[np.ndarray, np.ndarray]]:
        from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
        from mmnet_edge.export.precision import heldout_inputs

        meta = read_onnx_metadata(self.need_onnx())
        return heldout_inputs(meta.input_size, meta.mean, meta.std, n=n)


Step = Callable[[Context], "str | tuple[str, dict[str, Any]]"]


def _versions() -> dict[str, str | None]:
    import importlib

    out: dict[str, str | None] = {}
    for mod in ("tensorrt", "cuda.bindings", "cuda", "pycuda", "onnxruntime", "torch", "numpy"):
        if not has_module(mod.split(".")[0]) or (mod == "cuda.bindings" and not has_module(mod)):
            out[mod] = None
            continue
        try:
            out[mod] = str(getattr(importlib.import_module(mod), "__version__", "unknown"))
        except Exception as exc:  # noqa: BLE001 - a broken install is a fact to report
            out[mod] = f"import failed: {exc}"
    return out


# --------------------------------------------------------------------------- steps
def step_environment(ctx: Context) -> tuple[str, dict[str, Any]]:
    ctx.gpu = gpu_facts(0)
    if not has_module("cuda"):
        ctx.no_gpu_reason = (
            "no CUDA device found: cuda-python is not installed, so none could be queried "
            "(pip install 'mmnet-edge[tensorrt]')"
        )
    if has_module("torch"):
        import torch

        ctx.torch_cuda = bool(torch.cuda.is_available())
    if ctx.gpu and has_module("tensorrt"):
        ctx.load_tensorrt()
    env = {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()} {platform.release()}",
        "versions": _versions(),
        "gpu": ctx.gpu,
        "jetson": jetson_facts(),
    }
    gpu = f"{ctx.gpu['name']} (CC {ctx.gpu['compute_capability']})" if ctx.gpu else "no GPU"
    trt = f"TensorRT {ctx.trt.__version__}" if ctx.trt is not None else "no TensorRT"
    return f"{gpu}; {trt}", env


def _buffers_round_trip(ctx: Context, lib: str) -> str:
    ctx.need_gpu()
    from mmnet_edge.runtime.cuda_buffers import open_buffers

    module = "cuda" if lib == "cuda-python" else "pycuda"
    if not has_module(module):
        raise Skip(f"{lib} is not installed")
    buffers = open_buffers(lib, 0)
    try:
        with buffers.bind():
            data = np.arange(1 << 16, dtype=np.float32)
            ptr = buffers.alloc(data.nbytes)
            src = buffers.host_array(data.shape, np.float32)
            dst = buffers.host_array(data.shape, np.float32)
            src[...] = data
            dst[...] = 0
            buffers.to_device(ptr, src)
            buffers.to_host(dst, ptr)
            buffers.synchronize()
            if not np.array_equal(dst, data):
                raise AssertionError("host → device → host round trip changed the data")
            buffers.free()
            buffers.alloc(16)  # re-allocation after free(): the stream is still usable
            _ = buffers.stream_handle
    finally:
        buffers.destroy()
    return f"{data.nbytes >> 10} KiB round trip exact; free() kept the stream; destroy() ok"


def step_buffers_cuda_python(ctx: Context) -> str:
    return _buffers_round_trip(ctx, "cuda-python")


def step_buffers_pycuda(ctx: Context) -> str:
    return _buffers_round_trip(ctx, "pycuda")


def step_model(ctx: Context) -> str:
    """A seeded tiny checkpoint exported to model.onnx + model.fp16.onnx + INT8 variants."""
    if not (ctx.gpu or ctx.torch_cuda):  # only GPU steps use it: nothing to prove on a CPU
        ctx.need_gpu()
    if not (has_module("torch") and has_module("onnx")):
        raise Skip("training/export extra missing: pip install 'mmnet-edge[train]'")
    import torch

    from mmnet_edge.checkpoint import save_checkpoint
    from mmnet_edge.export.pipeline import ExportSettings, export_model
    from mmnet_edge.metadata import ModelMetadata
    from mmnet_edge.model import MMNet, create_config

    torch.manual_seed(0)
    model = MMNet(create_config("tiny", 5)).eval()
    ckpt = ctx.workdir / "tiny.safetensors"
    save_checkpoint(model, ModelMetadata(config=model.config), ckpt)
    ctx.checkpoint = ckpt
    out = ctx.workdir / "model"
    res = export_model(ckpt, out, ExportSettings(precision="fp16"))
    ctx.onnx = res.onnx
    int8 = ExportSettings(precision="int8")  # synthetic calibration set
    export_model(res.onnx, out, int8)
    names = sorted(p.name for p in out.glob("*.onnx"))
    return f"tiny model exported: {', '.join(names)}"


def step_engine_builds(ctx: Context) -> tuple[str, dict[str, Any]]:
    trt = ctx.need_trt()
    onnx = ctx.need_onnx()
    from mmnet_edge.export.engine_build import build_engine
    from mmnet_edge.export.engine_options import EngineOptions, detect_features

    feats = detect_features(trt)
    cache = ctx.workdir / "timing-cache"
    plans = [("fp32", None)]
    if feats.strongly_typed:
        plans.append(("fp16", True))
    if feats.precision_flags:
        plans.append(("fp16", False))
    data: dict[str, Any] = {}
    for precision, strongly in plans:
        key = precision + ("" if strongly is None else ("-strong" if strongly else "-weak"))
        for attempt in ("cold", "warm"):  # the second build reuses the timing cache
            opts = EngineOptions(
                precision, batch=(1, 4, 8), timing_cache_dir=cache, strongly_typed=strongly
            )
            res = build_engine(onnx, ctx.workdir / f"{key}.engine", opts)
            data[f"{key} {attempt} s"] = round(res.seconds, 2)
        ctx.engines[key] = res.path
    if not list(cache.glob("*.timing")):
        raise AssertionError("no timing cache file was written")
    return f"built {', '.join(ctx.engines)} (timing cache reused on the second build)", data


def _agreement(ctx: Context, engine: Path, inputs: Any) -> Any:
    from mmnet_edge.compare import compare
    from mmnet_edge.runtime.loader import open_runner

    with (
        open_runner(ctx.need_onnx(), backend="onnxruntime", device="cpu") as ref,
        open_runner(engine, backend="tensorrt") as cand,
    ):
        return compare(ref, cand, inputs)


def step_runner(ctx: Context) -> tuple[str, dict[str, Any]]:
    ctx.need_trt()
    engine = ctx.need_engine("fp32")
    from mmnet_edge.compare import compare
    from mmnet_edge.runtime.loader import open_runner

    data: dict[str, Any] = {}
    rng = np.random.default_rng(0)
    with (
        open_runner(ctx.need_onnx(), backend="onnxruntime", device="cpu") as ref,
        open_runner(engine, backend="tensorrt") as cand,
    ):
        top = cand.max_batch or 1
        for n in sorted({1, max(1, top // 2), top}):
            s = cand.input_size
            on = rng.standard_normal((n, 3, s, s), dtype=np.float32)
            ap = (on + 0.1 * rng.standard_normal(on.shape, dtype=np.float32)).astype(np.float32)
            rep = compare(ref, cand, [(on, ap)], atol=1e-3, rtol=1e-3)
            data[f"batch {n}"] = {"max_abs": rep.max_abs_error, "top1": rep.top1_agreement}
            if rep.top1_agreement < 1.0 or rep.max_abs_error > 1e-2:
                raise AssertionError(f"FP32 engine disagrees with ORT CPU at batch {n}: {rep}")
    for key in ("fp16-strong", "fp16-weak"):
        if key in ctx.engines:
            rep = _agreement(ctx, ctx.engines[key], ctx.inputs())
            data[key] = {"top1": rep.top1_agreement, "max_abs": rep.max_abs_error}
            if rep.top1_agreement < AGREEMENT_GATE:
                raise AssertionError(f"{key} engine top-1 agreement {rep.top1_agreement:.3f}")
    return f"batches {sorted(k for k in data if k.startswith('batch'))} match ORT CPU", data


def _latency_ms(engine: Path, batch: int = 1, iters: int = 50) -> float:
    from mmnet_edge.runtime.loader import open_runner

    with open_runner(engine, backend="tensorrt") as r:
        s = r.input_size
        x = np.zeros((batch, 3, s, s), np.float32)
        for _ in range(5):
            r.run(x, x)
        t0 = time.perf_counter()
        for _ in range(iters):
            r.run(x, x)
        return (time.perf_counter() - t0) / iters * 1e3


def step_int8(ctx: Context) -> tuple[str, dict[str, Any]]:
    trt = ctx.need_trt()
    onnx = ctx.need_onnx()
    from mmnet_edge.export.engine_build import build_engine
    from mmnet_edge.export.engine_options import EngineOptions, detect_features

    feats = detect_features(trt)
    opts = EngineOptions("int8", batch=(1, 4, 8), strongly_typed=feats.strongly_typed or None)
    res = build_engine(onnx, ctx.workdir / "int8.engine", opts)
    ctx.engines["int8"] = res.path
    rep = _agreement(ctx, res.path, ctx.inputs())
    fp16 = ctx.engines.get("fp16-strong") or ctx.engines.get("fp16-weak")
    data = {"top1_vs_fp32_ort": rep.top1_agreement, "int8_ms_b1": _latency_ms(res.path)}
    if fp16 is not None:
        data["fp16_ms_b1"] = _latency_ms(fp16)
    if rep.top1_agreement < AGREEMENT_GATE:
        raise AssertionError(f"INT8 engine top-1 agreement with FP32 {rep.top1_agreement:.3f}")
    speed = (
        f"; latency b1 {data['int8_ms_b1']:.2f} ms vs FP16 {data['fp16_ms_b1']:.2f} ms"
        if "fp16_ms_b1" in data
        else ""
    )
    return f"top-1 agreement {rep.top1_agreement:.3f}{speed}", data


def step_legacy_calibrator(ctx: Context) -> tuple[str, dict[str, Any]]:
    trt = ctx.need_trt()
    onnx = ctx.need_onnx()
    if getattr(trt, "IInt8EntropyCalibrator2", None) is None:
        raise Skip(f"TensorRT {trt.__version__} has no implicit calibrators (removed in 11)")
    from mmnet_edge.artifacts.metadata_io import file_sha256
    from mmnet_edge.calibration.dataset import CalibrationSet
    from mmnet_edge.calibration.legacy import free_calibrator, make_entropy_calibrator
    from mmnet_edge.export.engine_build import build_engine
    from mmnet_edge.export.engine_options import EngineOptions

    pairs = ctx.inputs(32)
    on = np.concatenate([p[0] for p in pairs])
    ap = np.concatenate([p[1] for p in pairs])
    cs = CalibrationSet(on, ap, np.full(len(on), -1), tuple(f"c{i}" for i in range(5)))
    opts = EngineOptions("int8", batch=(1, 4, 8), strongly_typed=False)
    cal = make_entropy_calibrator(cs, file_sha256(onnx), ctx.workdir / "calib", profile=opts.batch)
    try:
        res = build_engine(onnx, ctx.workdir / "int8-legacy.engine", opts, cal)
    finally:
        free_calibrator(cal)
    rep = _agreement(ctx, res.path, pairs)
    data = {"batches_fed": cal.batches_fed, "top1": rep.top1_agreement}
    if not cal.cache_file.exists():
        raise AssertionError("the calibration cache was not written")
    return f"{cal.batches_fed} batches fed, cache written, top-1 {rep.top1_agreement:.3f}", data


def step_version_compatible(ctx: Context) -> str:
    trt = ctx.need_trt()
    onnx = ctx.need_onnx()
    from mmnet_edge.export.engine_build import build_engine
    from mmnet_edge.export.engine_options import EngineOptions, detect_features

    if not detect_features(trt).version_compatible:
        raise Skip(f"TensorRT {trt.__version__} cannot build version-compatible engines")
    opts = EngineOptions("fp32", batch=(1, 2, 4), version_compatible=True)
    res = build_engine(onnx, ctx.workdir / "vc.engine", opts)
    rep = _agreement(ctx, res.path, ctx.inputs(8))
    if rep.top1_agreement < 1.0:
        raise AssertionError(f"version-compatible engine disagrees: {rep.top1_agreement:.3f}")
    return "built and loaded (engine_host_code_allowed) on this runtime; agrees with ORT"


def step_torch_cuda_graphs(ctx: Context) -> str:
    if not has_module("torch"):
        raise Skip("torch is not installed")
    if not ctx.torch_cuda:
        raise Skip("torch sees no CUDA device (no GPU, or a CPU build of torch)")
    if ctx.checkpoint is None:
        raise Skip("no checkpoint: the model step did not run")
    from mmnet_edge.runtime.loader import open_runner

    on, ap = ctx.inputs(8)[0]
    with open_runner(ctx.checkpoint, device="cuda") as eager:
        want = eager.run(on, ap)
    with open_runner(ctx.checkpoint, device="cuda", cuda_graph=True) as graphed:
        got = [graphed.run(on, ap) for _ in range(3)]
    for g in got:
        np.testing.assert_allclose(g, want, atol=2e-3, rtol=1e-2)
    return "3 graph replays match eager"


def step_ort_gpu(ctx: Context) -> tuple[str, dict[str, Any]]:
    ctx.need_gpu()
    onnx = ctx.need_onnx()
    from mmnet_edge.compare import compare
    from mmnet_edge.runtime.loader import open_runner
    from mmnet_edge.runtime.ort_runner import ort_gpu_providers

    providers = ort_gpu_providers()
    if not providers:
        raise Skip("onnxruntime has no GPU provider (pip install onnxruntime-gpu)")
    inputs = ctx.inputs(16)
    with (
        open_runner(onnx, backend="onnxruntime", device="cpu") as ref,
        open_runner(onnx, backend="onnxruntime", device="cuda") as gpu,
    ):
        rep = compare(ref, gpu, inputs)
        data = {"available": providers, "active": gpu.providers, "top1": rep.top1_agreement}
    if rep.top1_agreement < AGREEMENT_GATE:
        raise AssertionError(f"ORT on {gpu.providers[0]}: top-1 {rep.top1_agreement:.3f}")
    return f"ORT on {data['active'][0]} agrees with CPU (top-1 {rep.top1_agreement:.3f})", data


def step_dla(ctx: Context) -> tuple[str, dict[str, Any]]:
    trt = ctx.need_trt()
    if not jetson_facts():
        raise Skip("not a Jetson")
    cores = int(trt.Builder(trt.Logger(trt.Logger.WARNING)).num_DLA_cores)
    if cores == 0:
        raise Skip("this Jetson has no DLA (e.g. Orin Nano)")
    from mmnet_edge.export.engine_build import build_engine
    from mmnet_edge.export.engine_options import EngineOptions

    res = build_engine(
        ctx.need_onnx(), ctx.workdir / "dla.engine", EngineOptions("fp16", (1, 1, 1), dla_core=0)
    )
    rep = _agreement(ctx, res.path, ctx.inputs(8))
    data = {"dla_layers": res.manifest.dla_layers, "top1": rep.top1_agreement}
    return f"{res.manifest.dla_layers} layer(s) on DLA 0, top-1 {rep.top1_agreement:.3f}", data


STEPS: list[tuple[str, Step]] = [
    ("environment", step_environment),
    ("cuda-buffers (cuda-python)", step_buffers_cuda_python),
    ("cuda-buffers (pycuda)", step_buffers_pycuda),
    ("model", step_model),
    ("engine builds", step_engine_builds),
    ("tensorrt runner vs ort cpu", step_runner),
    ("int8 engine", step_int8),
    ("legacy calibrator", step_legacy_calibrator),
    ("version-compatible engine", step_version_compatible),
    ("torch cuda graphs", step_torch_cuda_graphs),
    ("ort cuda/tensorrt providers", step_ort_gpu),
    ("dla", step_dla),
]


def device_slug(gpu: dict[str, Any], jetson: dict[str, Any]) -> str:
    """A folder name for the machine: ``nvidia-geforce-rtx-3060``, ``jetson-…``, ``no-gpu``."""
    name = jetson.get("model") or gpu.get("name") or "no-gpu"
    return re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-") or "no-gpu"


def run_acceptance(
    output: Path | None = None,
    steps: list[tuple[str, Step]] | None = None,
    workdir: Path | None = None,
    echo: Callable[[StepResult], None] | None = None,
) -> tuple[AcceptanceReport, Path]:
    """Run every step (a failure never stops the others) and write the reports.

    Returns the report and the folder it was written to. ``steps``/``workdir`` may be
    injected (tests).
    """
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="mmnet-acceptance-")
        workdir = Path(tmp.name)
    ctx = Context(Path(workdir))
    report = AcceptanceReport("unknown", started=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    try:
        for name, fn in steps if steps is not None else STEPS:
            t0 = time.perf_counter()
            try:
                out = fn(ctx)
                detail, data = out if isinstance(out, tuple) else (out, {})
                result = StepResult(name, "passed", detail, data=data)
            except Skip as why:
                result = StepResult(name, "skipped", str(why))
            except Exception as exc:  # noqa: BLE001 - a failed step is reported, not raised
                tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
                result = StepResult(name, "failed", tb)
            result.seconds = time.perf_counter() - t0
            if name == "environment" and result.status == "passed":
                report.environment = result.data
            report.steps.append(result)
            if echo is not None:
                echo(result)
    finally:
        if tmp is not None:
            tmp.cleanup()
    report.device = device_slug(ctx.gpu, report.environment.get("jetson") or {})
    folder = Path(output) if output is not None else Path("benchmarks/results") / report.device
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "acceptance.json", json.dumps(report.to_dict(), indent=2) + "\n")
    atomic_write_text(folder / "acceptance.md", report.to_markdown())
    return report, folder
