#!/usr/bin/env python3
"""``Runtime`` overhead over a bare ONNX Runtime session, same preprocessed tensors, batch 1.

    python benchmarks/runtime_overhead.py MODEL.onnx [--iters 300] [--json out.json]

Both paths run interleaved (A, B, A, B, …) with identical session options so drift hits
both alike; the overhead is (Runtime p50 − bare p50) / bare p50.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def measure(model: str, iters: int = 300, warmup: int = 20, spin: bool = False) -> dict:
    import onnxruntime as ort

    from mmnet_edge.runtime.runtime import Runtime

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    bare = ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
    rt = Runtime(model, backend="onnxruntime", align=False, spin=spin)
    s = rt.input_size
    rng = np.random.default_rng(0)
    on = rng.standard_normal((1, 3, s, s), dtype=np.float32)
    ap = (on + 0.05 * rng.standard_normal(on.shape)).astype(np.float32)
    feed = {"onset": on, "apex": ap}
    for _ in range(warmup):
        bare.run(["logits"], feed)
        rt.run_tensors(on, ap)
    a, b = [], []
    for _ in range(iters):
        t0 = time.perf_counter()
        bare.run(["logits"], feed)
        t1 = time.perf_counter()
        rt.run_tensors(on, ap)
        t2 = time.perf_counter()
        a.append((t1 - t0) * 1e3)
        b.append((t2 - t1) * 1e3)
    rt.close()
    pa, pb = float(np.median(a)), float(np.median(b))
    return {
        "bare_ort_p50_ms": pa,
        "runtime_p50_ms": pb,
        "overhead_pct": 100 * (pb - pa) / pa,
        "iters": iters,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    r = measure(args.model, args.iters)
    print(
        f"bare ORT p50 {r['bare_ort_p50_ms']:.3f} ms, Runtime p50 {r['runtime_p50_ms']:.3f} ms, "
        f"overhead {r['overhead_pct']:+.2f} %"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(r, fh, indent=2)


if __name__ == "__main__":
    main()
