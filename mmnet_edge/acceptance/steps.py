"""The acceptance steps, in order (:data:`STEPS`): each proves one piece of the GPU half or
raises :class:`~mmnet_edge.acceptance.context.Skip` with the reason it cannot run here."""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.acceptance.context import Context, Skip, Step
from mmnet_edge.artifacts.platform import gpu_facts, jetson_facts, trt_create
from mmnet_edge.compare import AGREEMENT_GATE
from mmnet_edge.runtime.runner import has_module


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
    builder = trt_create("a builder", trt.Builder, trt.Logger(trt.Logger.WARNING))
    cores = int(builder.num_DLA_cores)
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
