#!/usr/bin/env python3
"""The standard benchmark matrix for this machine → benchmarks/results/<machine-tag>/.

    python benchmarks/run_suite.py [--configs tiny,paper] [--iters 50] [--detector PATH]

For each model config: a deterministic (seeded, untrained) checkpoint → ONNX FP32 → INT8
Q/DQ (TensorRT and CPU targets, calibrated on the synthetic set) → `run_benchmark` over
torch / ONNX Runtime / TensorRT × FP32 / FP16 / INT8 × batch 1 and 8, interleaved. Latency
does not depend on trained weights; accuracy is measured elsewhere (demo, calibration).
Then Runtime end-to-end with alignment (per-stage), Runtime overhead vs bare ORT, and the
alignment cost. Writes <config>.json/.md/.png, runtime_overhead.json, align.json, and
summary.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def make_models(config: str, work: Path) -> tuple[Path, Path]:
    import torch

    from mmnet_edge.checkpoint import save_checkpoint
    from mmnet_edge.export.onnx import export_onnx
    from mmnet_edge.metadata import ModelMetadata
    from mmnet_edge.model import MMNet, MMNetConfig

    torch.manual_seed(0)
    model = MMNet(MMNetConfig.preset(config)).eval()
    ckpt = save_checkpoint(model, ModelMetadata(config=model.config), work / "model.safetensors")
    onnx_path = export_onnx(ckpt, work / "model.onnx").path
    from mmnet_edge.calibration.dataset import from_synthetic
    from mmnet_edge.calibration.quantize import quantize_int8

    # Latency does not depend on the calibration ranges: a small minmax set keeps this quick.
    quantize_int8(
        onnx_path, from_synthetic(model.config.input_size, 2, 7, 0), work, method="minmax"
    )
    if importlib.util.find_spec("tensorrt") is not None:
        from mmnet_edge.export.precision import export_fp16

        export_fp16(onnx_path, work / "model.fp16.onnx")
    return ckpt, onnx_path


def alignment_section(rows: list[dict], out: Path) -> list[str]:
    (out / "align.json").write_text(json.dumps(rows, indent=2))
    lines = [
        "## Alignment cost per onset/apex pair",
        "",
        "| frame | setting | isolated pair p50 ms | p90 ms | per pair in a 30-frame clip "
        "(one detection) ms | warp only ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['frame']} | {r['setting']} | {r['pair_p50_ms']:.2f} | {r['pair_p90_ms']:.2f} "
        f"| {r['clip_per_pair_p50_ms']:.2f} | {r['warp_per_pair_p50_ms']:.2f} |"
        for r in rows
    ]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="tiny,paper")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--detector", default=None)
    ap.add_argument("--out", default=None, help="default: benchmarks/results/<machine-tag>")
    args = ap.parse_args()

    from align_bench import measure as measure_alignment
    from runtime_overhead import measure

    from mmnet_edge.bench import RunSettings, run_benchmark
    from mmnet_edge.bench.environment import collect_environment, machine_tag
    from mmnet_edge.bench.report import to_markdown, write_json, write_plot
    from mmnet_edge.bench.stages import measure_stages

    env = collect_environment()
    out = Path(args.out) if args.out else HERE / "results" / machine_tag(env)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "_models"
    summary = [
        f"# Benchmark suite — {env['date']}",
        "",
        f"Machine: {env['cpu']}, {env['cores']} cores, GPU: {env.get('gpu') or 'none'}",
        "",
    ]
    for config in args.configs.split(","):
        print(f"== {config}: models", flush=True)
        d = work / config
        d.mkdir(parents=True, exist_ok=True)
        ckpt, onnx_path = make_models(config, d)
        print(f"== {config}: benchmark", flush=True)
        rep = run_benchmark(
            [ckpt, onnx_path],
            ["torch", "onnxruntime", "tensorrt"],
            ["fp32", "fp16", "int8"],
            [int(b) for b in args.batches.split(",")],
            RunSettings(warmup=5, iters=args.iters),
            baseline="onnxruntime:fp32",
        )
        rep["stages"] = measure_stages(onnx_path, "onnxruntime", args.detector)
        write_json(rep, out / f"{config}.json")
        md = to_markdown(rep)
        (out / f"{config}.md").write_text(md)
        write_plot(rep, out / f"{config}.png")
        summary += [f"## {config}", "", md.split("\n", 2)[2]]
        if config == args.configs.split(",")[0]:
            ov = measure(str(onnx_path), iters=300)
            (out / "runtime_overhead.json").write_text(json.dumps(ov, indent=2))
            summary += [
                f"Runtime overhead vs bare ORT session ({config}, batch 1): "
                f"{ov['overhead_pct']:+.2f} % (p50 {ov['runtime_p50_ms']:.3f} vs "
                f"{ov['bare_ort_p50_ms']:.3f} ms)",
                "",
            ]
        print(md, flush=True)
    try:
        summary += alignment_section(measure_alignment(args.detector, iters=30, clip_len=30), out)
    except Exception as exc:  # noqa: BLE001 - no detector / scikit-image: say so
        summary += [f"Alignment benchmark skipped: {exc}"]
    (out / "summary.md").write_text("\n".join(summary) + "\n")
    import shutil

    shutil.rmtree(work, ignore_errors=True)  # models are regenerated deterministically
    print(f"results in {out}")


if __name__ == "__main__":
    main()
