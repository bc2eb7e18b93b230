"""Per-stage cost of the end-to-end pipeline: decode → align → preprocess → infer → post."""

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
        source = "scikit-image astronaut (512×512)"
    except ImportError:
        from mmnet_edge.data.synthetic import random_identity, render_face

        onset = render_face(random_identity(np.random.default_rng(0)), size=512)[:, :, ::-1].copy()
        source = "synthetic face (512×512)"
    apex = onset.copy()
    apex[300:320, 230:280] = onset[302:322, 230:280]
    enc = [
        cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
        for im in (onset, apex)
    ]
    return enc[0], enc[1], source


def measure_stages(
    model: Path,
    backend: str = "auto",
    detector: str | None = None,
    iters: int = 30,
    warmup: int = 3,
) -> dict[str, Any]:
    """Median/percentiles per stage for batch-1 ``Runtime.predict`` on JPEG input."""
    from mmnet_edge.runtime.runtime import Runtime

    on_jpg, ap_jpg, source = sample_pair()
    try:
        rt = Runtime(model, backend=backend, detector=detector)
        align_note = "YuNet detection + refinement on the onset, one transform for both"
        box = None
    except MMNetEdgeError as exc:  # no detector: caller-supplied box (robot-stack path)
        rt = Runtime(model, backend=backend, align=False)
        align_note = f"skipped: {exc}"
        box = None
    stages: dict[str, list[float]] = {}
    with rt:
        for i in range(warmup + iters):
            t0 = time.perf_counter()
            on = cv2.imdecode(np.frombuffer(on_jpg, np.uint8), cv2.IMREAD_COLOR)
            ap = cv2.imdecode(np.frombuffer(ap_jpg, np.uint8), cv2.IMREAD_COLOR)
            decode = (time.perf_counter() - t0) * 1e3
            pred = rt.predict(on, ap, color="bgr", box=box)
            if i < warmup:
                continue
            t = dict(pred.timings_ms)
            t["decode"] = decode
            t["total"] = decode + sum(v for k, v in t.items() if k not in ("decode", "total"))
            for k, v in t.items():
                stages.setdefault(k, []).append(v)
        backend_used = rt.backend
    return {
        "input": source,
        "backend": backend_used,
        "align": align_note,
        "stages_ms": {k: latency_stats(v) for k, v in stages.items()},
    }
