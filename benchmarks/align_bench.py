#!/usr/bin/env python3
"""Alignment cost per onset/apex pair on this CPU (benchmark script, not a test).

    python benchmarks/align_bench.py --detector /path/to/face_detection_yunet_2023mar.onnx

For each frame size (the 512×512 scikit-image astronaut, and the same photo padded to a
1280×720 webcam frame) and each aligner setting, it times:

* ``pair``: ``align_pair(onset, apex)`` from scratch: one detection (+ refinement views)
  on the onset and two warps; what an isolated pair costs;
* ``clip/pair``: ``align_clip`` of a ``--clip``-frame clip (one detection per clip)
  divided by the number of onset/apex pairs it yields (frames − 1);
* ``warp/pair``: applying a fitted transform to two frames (the stream steady state).

Prints median and p90 milliseconds; ``--json`` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import cv2
import numpy as np

SETTINGS = {
    # name: (Aligner kwargs, YuNetDetector kwargs)
    "default (refine 2×, 4 views)": ({}, {}),
    "default, coarse detection 320": ({}, {"coarse_side": 320}),
    "refine 1×, no views": ({"refine": 1, "refine_views": 0}, {}),
    "no refinement": ({"refine": 0}, {}),
    "no refinement, detector 320": ({"refine": 0}, {"max_side": 320}),
}


def timed(fn, iters: int) -> np.ndarray:
    for _ in range(2):
        fn()
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return np.asarray(out)


def measure(detector: str | None, iters: int, clip_len: int) -> list[dict]:
    from skimage import data

    from mmnet_edge.align import Aligner, YuNetDetector

    photo = data.astronaut()[:, :, ::-1].copy()
    webcam = cv2.copyMakeBorder(photo, 104, 104, 384, 384, cv2.BORDER_CONSTANT)
    rows = []
    for frame_name, img in (("512x512", photo), ("1280x720", webcam)):
        apex = np.roll(img, 1, axis=1)
        clip = [img] + [apex] * (clip_len - 1)
        for name, (akw, dkw) in SETTINGS.items():
            al = Aligner(YuNetDetector(detector, **dkw), **akw)
            pair = timed(lambda al=al, a=img, b=apex: al.align_pair(a, b), iters)
            per_clip = timed(lambda al=al, c=clip: al.align_clip(c), max(3, iters // 5))
            t = al.fit(img)
            warp = timed(lambda al=al, t=t, a=img, b=apex: (al.warp(a, t), al.warp(b, t)), iters)
            row = {
                "frame": frame_name,
                "setting": name,
                "pair_p50_ms": float(np.median(pair)),
                "pair_p90_ms": float(np.percentile(pair, 90)),
                "clip_frames": clip_len,
                "clip_per_pair_p50_ms": float(np.median(per_clip)) / (clip_len - 1),
                "warp_per_pair_p50_ms": float(np.median(warp)),
            }
            rows.append(row)
            print(
                f"{frame_name:>9}  {name:30s} pair p50 {row['pair_p50_ms']:6.2f} ms "
                f"(p90 {row['pair_p90_ms']:6.2f})  clip/pair {row['clip_per_pair_p50_ms']:5.2f} ms"
                f"  warp/pair {row['warp_per_pair_p50_ms']:5.2f} ms",
                flush=True,
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detector", default=None, help="YuNet model (else env / cache dir)")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--clip", type=int, default=30, help="frames per clip for clip/pair")
    ap.add_argument("--threads", type=int, default=None, help="cv2.setNumThreads")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    print(
        f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads, "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    rows = measure(args.detector, args.iters, args.clip)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"opencv": cv2.__version__, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
