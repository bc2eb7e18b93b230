"""Per-stage cost of the end-to-end pipeline: decode → align → preprocess → infer → post.

Host-clock split of batch-1 ``Runtime.predict`` on a JPEG-encoded pair. On a GPU the
inference stage is also timed on the device with CUDA events (``inference_device``):
the host figure includes copies and synchronisation, the device one only the kernels.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mmnet_edge.bench.stats import latency_stats
from mmnet_edge.errors import MMNetEdgeError


def sample_pair() -> tuple[bytes, bytes, str]:
    """A JPEG-encoded onset/apex pair: a real portrait when scikit-image is installed."""
    try:
        from skimage import data

        onset = data.astronaut()[:, :, ::-1].copy()
        source = "scikit-image astronaut (512×512 JPEG)"
    except ImportError:
        from mmnet_edge.data.synthetic import random_identity, render_face

        onset = render_face(random_identity(np.random.default_rng(0)), size=512)[:, :, ::-1].copy()
        source = "synthetic face (512×512 JPEG)"
    apex = onset.copy()
    apex[300:320, 230:280] = onset[302:322, 230:280]  # a small local motion near the mouth
    enc = [
        cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
        for im in (onset, apex)
    ]
    return enc[0], enc[1], source


def device_inference_ms(runner: Any, iters: int = 30, warmup: int = 3) -> list[float] | None:
    """Kernel time of one batch-1 inference measured with CUDA events (None on CPU or for
    backends whose stream mmnet-edge does not own, e.g. ONNX Runtime)."""
    if not str(getattr(runner, "device", "cpu")).startswith("cuda"):
        return None
    s = runner.input_size
    rng = np.random.default_rng(0)
    on = rng.standard_normal((1, 3, s, s), dtype=np.float32)
    ap = (on + 0.05 * rng.standard_normal(on.shape)).astype(np.float32)
    if runner.backend == "torch" and getattr(runner, "model", None) is not None:
        torch = runner._torch
        with torch.inference_mode():
            on_d, ap_d = runner._to_device(on), runner._to_device(ap)
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            out = []
            for i in range(warmup + iters):
                start.record()
                runner.model(on_d, ap_d)
                end.record()
                end.synchronize()
                if i >= warmup:
                    out.append(float(start.elapsed_time(end)))
            return out
    if runner.backend == "tensorrt":
        runner.run(on, ap)  # sets the input shapes and fills the buffers
        return _trt_event_times(runner, iters, warmup)
    return None


def _trt_event_times(runner: Any, iters: int, warmup: int) -> list[float] | None:
    buffers = runner._buffers
    out: list[float] = []
    with runner._lock:
        if buffers.name == "cuda-python":
            from mmnet_edge.runtime.cuda_buffers import _check

            rt = buffers.rt
            e0, e1 = _check(rt.cudaEventCreate()), _check(rt.cudaEventCreate())
            try:
                for i in range(warmup + iters):
                    _check(rt.cudaEventRecord(e0, buffers.stream))
                    runner._enqueue()
                    _check(rt.cudaEventRecord(e1, buffers.stream))
                    _check(rt.cudaEventSynchronize(e1))
                    if i >= warmup:
                        out.append(float(_check(rt.cudaEventElapsedTime(e0, e1))))
            finally:
                rt.cudaEventDestroy(e0)
                rt.cudaEventDestroy(e1)
            return out
        drv = buffers.drv  # pycuda
        e0, e1 = drv.Event(), drv.Event()
        for i in range(warmup + iters):
            e0.record(buffers.stream)
            runner._enqueue()
            e1.record(buffers.stream)
            e1.synchronize()
            if i >= warmup:
                out.append(float(e1.time_since(e0)))
    return out


def measure_stages(
    model: Path,
    backend: str = "auto",
    detector: str | None = None,
    iters: int = 30,
    warmup: int = 3,
    device: str | None = None,
) -> dict[str, Any]:
    """Percentiles per stage for batch-1 ``Runtime.predict`` on JPEG input.

    Alignment uses the YuNet detector (``detector`` path, or the one mmnet-edge finds);
    without one the ``align`` stage is reported as skipped with the reason and the
    pipeline runs on the unaligned frames.
    """
    from mmnet_edge.runtime.runtime import Runtime

    on_jpg, ap_jpg, source = sample_pair()
    try:
        rt = Runtime(model, backend=backend, device=device, detector=detector)
        align_note = "YuNet detection + refinement on the onset, one transform for both frames"
        align_skipped = None
    except MMNetEdgeError as exc:  # no detector here: measure the rest, say why
        rt = Runtime(model, backend=backend, device=device, align=False)
        align_skipped = f"{type(exc).__name__}: {exc}"
        align_note = f"skipped: {align_skipped}"
    stages: dict[str, list[float]] = {}
    with rt:
        for i in range(warmup + iters):
            t0 = time.perf_counter()
            on = cv2.imdecode(np.frombuffer(on_jpg, np.uint8), cv2.IMREAD_COLOR)
            ap = cv2.imdecode(np.frombuffer(ap_jpg, np.uint8), cv2.IMREAD_COLOR)
            jpeg_ms = (time.perf_counter() - t0) * 1e3
            pred = rt.predict(on, ap, color="bgr")
            if i < warmup:
                continue
            t = {k: v for k, v in pred.timings_ms.items() if k != "total"}
            t["decode"] = t.get("decode", 0.0) + jpeg_ms  # JPEG decode + input validation
            if align_skipped:
                t.pop("align", None)
            t["total"] = sum(t.values())
            for k, v in t.items():
                stages.setdefault(k, []).append(v)
        device_times = device_inference_ms(rt.runner, iters, warmup)
        backend_used, device_used = rt.backend, rt.runner.device
    order = ["decode", "align", "preprocess", "inference", "postprocess", "total"]
    stats = {k: latency_stats(stages[k]) for k in order if k in stages}
    stats.update({k: latency_stats(v) for k, v in stages.items() if k not in stats})
    if device_times:
        stats["inference_device"] = latency_stats(device_times)
    out: dict[str, Any] = {
        "input": source,
        "backend": backend_used,
        "device": device_used,
        "align": align_note,
        "stages_ms": stats,
        "clock": "host perf_counter per stage"
        + ("; inference_device: CUDA events around the kernels" if device_times else ""),
    }
    if align_skipped:
        out["align_status"] = "skipped"
        out["align_reason"] = align_skipped
    return out
