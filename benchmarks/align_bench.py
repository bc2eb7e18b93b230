#!/usr/bin/env python3
"""Alignment cost per onset/apex pair (one detection per pair = per clip), on this CPU.

    python benchmarks/align_bench.py --detector /path/to/face_detection_yunet_2023mar.onnx

Prints median / p90 ms per pair for the refinement settings and detector input sizes, on
the scikit-image astronaut (512×512) and the same photo padded to 1280×720 (a webcam).
"""

from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np


def measure(detector: str | None, iters: int = 40) -> list[dict]:
    from skimage import data

    from mmnet_edge.align import Aligner, YuNetDetector

    photo = data.astronaut()[:, :, ::-1].copy()
    webcam = cv2.copyMakeBorder(photo, 104, 104, 384, 384, cv2.BORDER_CONSTANT)
    rows = []
    for name, img in (("512x512", photo), ("1280x720", webcam)):
        for max_side in (640, 320):
            for refine in (1, 0):
                al = Aligner(YuNetDetector(detector, max_side=max_side), refine=refine)
                for _ in range(3):
                    al.align_pair(img, img)
                t = []
                for _ in range(iters):
                    t0 = time.perf_counter()
                    al.align_pair(img, img)
                    t.append((time.perf_counter() - t0) * 1e3)
                row = {
                    "frame": name,
                    "detector_max_side": max_side,
                    "refine": refine,
                    "p50_ms": float(np.median(t)),
                    "p90_ms": float(np.percentile(t, 90)),
                }
                rows.append(row)
                print(
                    f"{name:>9}  max_side {max_side:4d}  refine {refine}  "
                    f"p50 {row['p50_ms']:6.2f} ms  p90 {row['p90_ms']:6.2f} ms",
                    flush=True,
                )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--detector", default=None)
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows = measure(args.detector, args.iters)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
