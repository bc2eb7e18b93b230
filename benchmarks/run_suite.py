#!/usr/bin/env python3
"""The standard benchmark matrix for this machine → benchmarks/results/<machine-tag>/.

    python benchmarks/run_suite.py [--configs tiny,paper] [--iters 50] [--detector PATH]
                                   [--batches 1,8] [--out DIR] [--tag TAG]

For each model config it builds what it needs through the Python APIs: a deterministic
(seeded, untrained) checkpoint → ONNX FP32 (``export_onnx``) → INT8 Q/DQ for the CPU and
TensorRT targets (``quantize_int8``, calibrated on a small synthetic set) → on a GPU
machine also the FP16 ONNX and TensorRT FP16/INT8 engines. A stage whose module or
library is missing is skipped and the reason written to the summary. Then
``run_benchmark`` over torch / ONNX Runtime / TensorRT × FP32 / FP16 / INT8 × batches,
interleaved (with CUDA-graph twins on a GPU), the end-to-end ``Runtime`` per stage with
alignment, the ``Runtime`` overhead over a bare ONNX Runtime session, and the alignment
cost. Latency does not depend on trained weights; accuracy is measured elsewhere (demo,
``mmnet-edge calibrate report``). Writes ``<config>.json/.md/.png``,
``runtime_overhead.json``, ``align.json`` and ``summary.md``. Ctrl-C stops cleanly: what
was measured is written.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def make_models(config: str, work: Path, notes: list[str]) -> list[Path]:
    """Checkpoint + every variant this machine can build; reasons for the rest in notes."""
    import torch

    from mmnet_edge.checkpoint import save_checkpoint
    from mmnet_edge.metadata import ModelMetadata
    from mmnet_edge.model import MMNet, MMNetConfig

    torch.manual_seed(0)
    model = MMNet(MMNetConfig.preset(config)).eval()
    ckpt = save_checkpoint(model, ModelMetadata(config=model.config), work / "model.safetensors")
    models = [ckpt]
    try:
        from mmnet_edge.export.onnx import export_onnx

        onnx_path = export_onnx(ckpt, work / "model.onnx").path
        models.append(onnx_path)
    except Exception as exc:  # noqa: BLE001 - report and go on with what exists
        notes.append(f"{config}: ONNX export unavailable ({type(exc).__name__}: {exc})")
        return models
    try:
        from mmnet_edge.calibration.dataset import from_synthetic
        from mmnet_edge.calibration.quantize import quantize_int8

        # Latency does not depend on the calibration ranges: a small minmax set keeps it quick.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calib = from_synthetic(model.config.input_size, 2, 7, 0)
            quantize_int8(onnx_path, calib, work, method="minmax")
    except Exception as exc:  # noqa: BLE001
        notes.append(f"{config}: INT8 quantization unavailable ({type(exc).__name__}: {exc})")
    if _cuda():
        try:
            from mmnet_edge.export.precision import export_fp16

            export_fp16(onnx_path, work / "model.fp16.onnx")
        except Exception as exc:  # noqa: BLE001
            notes.append(f"{config}: FP16 ONNX unavailable ({type(exc).__name__}: {exc})")
    if _cuda() and _has("tensorrt"):
        from mmnet_edge.export.tensorrt import EngineOptions, build_engine

        for precision in ("fp16", "int8"):
            try:
                eng = build_engine(
                    onnx_path,
                    work / f"model.{precision}.engine",
                    EngineOptions(precision=precision, batch=(1, 8, 32)),
                )
                models.append(Path(eng.path))
            except Exception as exc:  # noqa: BLE001
                notes.append(f"{config}: TensorRT {precision} engine failed ({exc})")
    elif _cuda():
        notes.append(f"{config}: TensorRT not installed: no engine results")
    return models


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


def ratio_lines(rep: dict[str, Any]) -> list[str]:
    """The README's headline ratios: ORT INT8 vs FP32 and ORT FP32 vs torch, per batch."""
    ok = {
        (r["backend"], r["precision"], r["batch"], r.get("cuda_graph", False)): r
        for r in rep["results"]
        if r["status"] == "ok"
    }
    lines = []
    for (backend, precision, batch, graph), r in sorted(ok.items(), key=lambda kv: kv[0][2]):
        if (backend, precision, graph) != ("onnxruntime", "fp32", False):
            continue
        p50 = r["latency_ms"]["p50"]
        parts = [f"batch {batch}: ORT FP32 {p50:.2f} ms"]
        int8 = ok.get(("onnxruntime", "int8", batch, False))
        if int8:
            i8 = int8["latency_ms"]["p50"]
            parts.append(f"ORT INT8 {i8:.2f} ms (speed-up vs FP32 {p50 / i8:.2f}×)")
        torch_r = ok.get(("torch", "fp32", batch, False))
        if torch_r:
            tp = torch_r["latency_ms"]["p50"]
            parts.append(f"torch FP32 {tp:.2f} ms (ORT FP32 speed-up vs torch {tp / p50:.2f}×)")
        lines.append("- " + "; ".join(parts))
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configs", default="tiny,paper")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--detector", default=None, help="YuNet model for the alignment stages")
    ap.add_argument("--out", default=None, help="default: benchmarks/results/<machine-tag>")
    ap.add_argument("--tag", default=None, help="machine tag (default: from the environment)")
    ap.add_argument("--keep-models", action="store_true", help="keep the generated models")
    args = ap.parse_args()

    from mmnet_edge.bench import RunSettings, run_benchmark
    from mmnet_edge.bench.environment import collect_environment, machine_tag
    from mmnet_edge.bench.report import to_markdown, write_json, write_plot
    from mmnet_edge.bench.stages import measure_stages

    env = collect_environment()
    out = Path(args.out) if args.out else HERE / "results" / (args.tag or machine_tag(env))
    out.mkdir(parents=True, exist_ok=True)
    work = out / "_models"
    notes: list[str] = []
    summary = [
        f"# Benchmark suite — {env['date']}",
        "",
        f"Machine: {env['cpu']}, {env['cores']} cores, GPU: {env.get('gpu') or 'none'}; "
        f"torch {env.get('torch')}, onnxruntime {env.get('onnxruntime')}, "
        f"TensorRT {env.get('tensorrt') or 'absent'}",
        "",
    ]
    cuda = _cuda()
    configs = [c for c in args.configs.split(",") if c]
    interrupted = False
    try:
        for config in configs:
            print(f"== {config}: models", flush=True)
            d = work / config
            d.mkdir(parents=True, exist_ok=True)
            models = make_models(config, d, notes)
            onnx_path = next((m for m in models if m.suffix == ".onnx"), None)
            print(f"== {config}: benchmark", flush=True)
            rep = run_benchmark(
                models,
                ["torch", "onnxruntime", "tensorrt"],
                ["fp32", "fp16", "int8"],
                [int(b) for b in args.batches.split(",")],
                RunSettings(warmup=5, iters=args.iters, cuda_graph=cuda),
                baseline="onnxruntime:fp32" if onnx_path else "torch:fp32",
            )
            interrupted = interrupted or not rep["complete"]
            if not interrupted:
                print(f"== {config}: end-to-end stages", flush=True)
                stage_model = onnx_path or models[0]
                try:
                    rep["stages"] = measure_stages(stage_model, "auto", args.detector)
                except Exception as exc:  # noqa: BLE001
                    notes.append(f"{config}: stage split failed ({type(exc).__name__}: {exc})")
            write_json(rep, out / f"{config}.json")
            md = to_markdown(rep)
            (out / f"{config}.md").write_text(md)
            write_plot(rep, out / f"{config}.png")
            summary += [f"## {config}", "", *ratio_lines(rep), "", md.split("\n", 2)[2]]
            print(md, flush=True)
            if interrupted:
                break
            if config == configs[0] and onnx_path is not None:
                from runtime_overhead import measure

                ov = measure(str(onnx_path), iters=300)
                (out / "runtime_overhead.json").write_text(json.dumps(ov, indent=2))
                summary += [
                    f"Runtime overhead vs bare ORT session ({config}, batch 1): "
                    f"{ov['overhead_pct']:+.2f} % (p50 {ov['runtime_p50_ms']:.3f} vs "
                    f"{ov['bare_ort_p50_ms']:.3f} ms)",
                    "",
                ]
        if not interrupted:
            try:
                from align_bench import measure as measure_alignment

                rows = measure_alignment(args.detector, iters=30, clip_len=30)
                summary += alignment_section(rows, out)
            except Exception as exc:  # noqa: BLE001 - no detector / scikit-image: say so
                summary += [f"Alignment benchmark skipped: {type(exc).__name__}: {exc}"]
    except KeyboardInterrupt:
        interrupted = True
    except Exception:  # noqa: BLE001 - keep what was measured, show the failure
        notes.append("suite failed:\n" + traceback.format_exc(limit=3))
    if notes:
        summary += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    if interrupted:
        summary += ["", "**Interrupted: partial results.**"]
    (out / "summary.md").write_text("\n".join(summary) + "\n")
    if not args.keep_models:
        shutil.rmtree(work, ignore_errors=True)  # models are regenerated deterministically
    print(f"results in {out}")
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
