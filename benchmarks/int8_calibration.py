"""INT8 acceptance benchmark: agreement with FP32 on held-out synthetic subjects + CPU latency.

    python benchmarks/int8_calibration.py [--checkpoint model.safetensors] [--rounds 200]

Without ``--checkpoint`` a tiny model is trained on the synthetic set (holdout protocol).
Calibration: synthetic subjects of seed 0 (the training distribution); evaluation: subjects
drawn with another seed (never seen in training or calibration). Latency: ORT CPU, batch 1,
the FP32 and INT8 sessions interleaved round-robin, median over ``--rounds`` calls each
(the CPUs are shared, so medians of interleaved runs are the only fair comparison).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", type=Path, default=None)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--methods", default="percentile,minmax,entropy")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="Write the figures as JSON here.")
    args = ap.parse_args()

    import onnxruntime as ort

    from mmnet_edge.calibration.dataset import SmallCalibrationSetWarning
    from mmnet_edge.calibration.quantize import quantize_int8
    from mmnet_edge.calibration.sources import from_synthetic
    from mmnet_edge.export.onnx import export_onnx

    work = Path(tempfile.mkdtemp(prefix="int8bench-"))
    ckpt = args.checkpoint
    if ckpt is None:
        from mmnet_edge.train import TrainConfig, train

        ckpt = train(
            TrainConfig(dataset="synthetic", model="tiny", protocol="holdout", output=work / "t")
        ).model_path
    onnx_fp32 = export_onnx(ckpt, work / "model.onnx").path
    size = 112
    # 400 pairs: 5 subjects × 5 classes × 16
    calib = from_synthetic(size, subjects=5, per_class=16, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCalibrationSetWarning)
        held = from_synthetic(size, subjects=4, per_class=10, seed=1000)  # 200 pairs

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1

    def session(p: Path) -> ort.InferenceSession:
        return ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])

    def logits(s: ort.InferenceSession) -> np.ndarray:
        return np.concatenate(
            [s.run(["logits"], {"onset": o, "apex": a})[0] for o, a in held.batches(16)]
        )

    ref = logits(session(onnx_fp32))
    results: dict[str, object] = {"held_out_pairs": len(held), "calibration_pairs": len(calib)}
    for method in args.methods.split(","):
        out = work / method
        t0 = time.perf_counter()
        res = quantize_int8(onnx_fp32, calib, out, method=method)
        dt = time.perf_counter() - t0
        for r in res:
            agree = float((logits(session(r.path)).argmax(1) == ref.argmax(1)).mean())
            results[f"{method}/{r.target}/agreement"] = agree
            print(
                f"{method:10s} {r.target:8s} agreement {agree:.3f}  ({dt:.0f} s both)", flush=True
            )

    cpu = work / args.methods.split(",")[0] / "model.int8-cpu.onnx"
    trt = work / args.methods.split(",")[0] / "model.int8.onnx"
    sess = {"fp32": session(onnx_fp32), "int8-cpu": session(cpu), "int8-trt": session(trt)}
    x = {"onset": held.onset[:1], "apex": held.apex[:1]}
    times: dict[str, list[float]] = {k: [] for k in sess}
    for s in sess.values():
        for _ in range(10):
            s.run(None, x)
    for _ in range(args.rounds):
        for k, s in sess.items():
            t = time.perf_counter()
            s.run(None, x)
            times[k].append(time.perf_counter() - t)
    med = {k: float(np.median(v) * 1e3) for k, v in times.items()}
    for k, v in med.items():
        ratio = v / med["fp32"]
        results[f"latency_ms/{k}"] = v
        results[f"latency_ratio/{k}"] = ratio
        print(f"{k:9s} median {v:.2f} ms  ({ratio:.2f}× FP32)", flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
