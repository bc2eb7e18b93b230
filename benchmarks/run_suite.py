#!/usr/bin/env python3
"""The standard benchmark matrix for this machine → benchmarks/results/<tag>/<date>-<isa>/.

    python benchmarks/run_suite.py [--configs tiny,paper] [--iters 40] [--detector PATH]
                                   [--batches 1] [--threads 2] [--out DIR] [--tag TAG]

For each model config it builds what it needs with ``export_model`` (the one export API):
a deterministic (seeded, untrained) checkpoint → ONNX FP32 → INT8 Q/DQ for every target
(``model.int8.onnx`` symmetric, ``model.int8-cpu.onnx`` and ``model.int8-openvino.onnx``
U8S8; calibrated on the built-in synthetic set) → on a GPU machine also the FP16 ONNX and
TensorRT FP16/INT8 engines. A stage whose library is missing is skipped and the reason
written to the summary. Then
``run_benchmark`` over torch / ONNX Runtime / OpenVINO / TensorRT × FP32 / FP16 / INT8 ×
batches, interleaved in one run (with CUDA-graph twins on a GPU), each case's top-1
agreement with FP32 on held-out synthetic pairs and the recommendation; the end-to-end
``Runtime`` per stage with alignment; the per-pair cost inside a clip (one detection per
clip + alignment + INT8 inference) per CPU backend; and the ``Runtime`` overhead over a
bare ONNX Runtime session. Latency does not depend on trained weights. Writes
``<config>.json/.md/.png``, ``runtime_overhead.json`` and ``summary.md`` (the alignment
settings sweep: ``--align-sweep`` or ``align_bench.py``). Ctrl-C stops cleanly: what was
measured is written.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# torch's OpenMP workers must not spin into the next interleaved case (set before torch loads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(HERE))


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def make_models(config: str, work: Path, notes: list[str], calib_method: str) -> list[Path]:
    """Checkpoint + every variant this machine can build; reasons for the rest in notes."""
    import torch

    from mmnet_edge.checkpoint import save_checkpoint
    from mmnet_edge.metadata import ModelMetadata
    from mmnet_edge.model import MMNet, create_config

    torch.manual_seed(0)
    model = MMNet(create_config(config)).eval()
    ckpt = save_checkpoint(model, ModelMetadata(config=model.config), work / "model.safetensors")
    models = [ckpt]
    try:
        from mmnet_edge.export.pipeline import ExportSettings, export_model

        # INT8 for both targets (model.int8.onnx symmetric, model.int8-cpu.onnx U8S8),
        # calibrated on the built-in synthetic set (no real calibration set here)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = export_model(
                ckpt,
                work,
                ExportSettings(precision="int8", calib_method=calib_method, lint=False),
                on_step=lambda step: print(f"   {step}", flush=True),
            )
        onnx_path = res.onnx
        models.append(onnx_path)
        for step in res.steps:
            if step.agreement is not None:
                notes.append(f"{config}: export {step.name}: {step.detail}")
    except Exception as exc:  # noqa: BLE001 - report and go on with what exists
        notes.append(f"{config}: ONNX/INT8 export unavailable ({type(exc).__name__}: {exc})")
        return models
    if _cuda():
        try:
            export_model(onnx_path, work, ExportSettings(precision="fp16", lint=False))
        except Exception as exc:  # noqa: BLE001
            notes.append(f"{config}: FP16 ONNX unavailable ({type(exc).__name__}: {exc})")
    if _cuda() and _has("tensorrt"):
        from mmnet_edge.export.engine_options import EngineOptions

        for precision in ("fp16", "int8"):
            try:
                res = export_model(
                    onnx_path,
                    work,
                    ExportSettings(
                        fmt="engine",
                        precision=precision,
                        calib_method=calib_method,
                        engine=EngineOptions(precision=precision, batch=(1, 8, 32)),
                    ),
                )
                if res.engine is not None:
                    models.append(Path(res.engine))
                else:
                    notes.append(f"{config}: TensorRT {precision} engine: {res.engine_skipped}")
            except Exception as exc:  # noqa: BLE001
                notes.append(f"{config}: TensorRT {precision} engine failed ({exc})")
    elif _cuda():
        notes.append(f"{config}: TensorRT not installed: no engine results")
    return models


def clip_pair_cost(
    onnx_path: Path, detector: str | None, clip_len: int = 30, clips: int = 5, threads: int = 2
) -> dict[str, Any]:
    """Per onset/apex pair cost inside a clip with the INT8 model, end to end: one face
    detection per clip (YuNet + refinement, fitted on the onset), a warp per frame,
    preprocessing and one batch-1 INT8 inference per (onset, frame) pair; for each CPU
    backend that runs INT8 here. Frames: the 512×512 astronaut with a 1-px shift."""
    import time

    import cv2
    import numpy as np

    from mmnet_edge.bench.stages import sample_pair
    from mmnet_edge.runtime.backends import available_backends
    from mmnet_edge.runtime.runtime import Runtime

    on_jpg, ap_jpg, source = sample_pair()
    onset = cv2.cvtColor(cv2.imdecode(np.frombuffer(on_jpg, np.uint8), 1), cv2.COLOR_BGR2RGB)
    apex = cv2.cvtColor(cv2.imdecode(np.frombuffer(ap_jpg, np.uint8), 1), cv2.COLOR_BGR2RGB)
    frames = [onset] + [np.roll(apex, i % 3, axis=1) for i in range(1, clip_len)]
    rows = {}
    for backend in ("onnxruntime", "openvino"):
        if available_backends().get(backend, "absent"):
            continue
        with Runtime(
            onnx_path, backend=backend, precision="int8", detector=detector, threads=threads
        ) as rt:
            keys = ("detect", "warp", "preprocess", "infer")
            split: dict[str, list[float]] = {k: [] for k in keys}
            for c in range(clips + 1):  # the first clip warms up
                t0 = time.perf_counter()
                tr = rt.fit_alignment(frames[0])
                t1 = time.perf_counter()
                faces = [rt.warp(f, tr) for f in frames]
                t2 = time.perf_counter()
                on_t = rt.to_tensors([faces[0]])
                ap_t = [rt.to_tensors([f]) for f in faces[1:]]
                t3 = time.perf_counter()
                for a in ap_t:
                    rt.classify(on_t, a)
                t4 = time.perf_counter()
                if c:
                    for k, v in zip(split, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                        split[k].append(v * 1e3 / (clip_len - 1))
            per = {k: float(np.median(v)) for k, v in split.items()}
            rows[backend] = {
                "model": rt.runner.path.name,
                "per_pair_ms": per,
                "per_pair_total_ms": sum(per.values()),
            }
    return {
        "clip_frames": clip_len,
        "pairs_per_clip": clip_len - 1,
        "clips_measured": clips,
        "threads": threads,
        "input": source,
        "backends": rows,
    }


def clip_section(cost: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"### Per-pair cost inside a {cost['clip_frames']}-frame clip (INT8, end to end)",
        "",
        "One face detection per clip (on the onset) + a warp per frame + preprocessing + one "
        f"batch-1 INT8 inference per pair, {cost['threads']} threads, median of "
        f"{cost['clips_measured']} clips, divided by the {cost['pairs_per_clip']} pairs; "
        f"{cost['input']}.",
        "",
        "| backend | model | detection/pair ms | warp ms | preprocess ms | INT8 inference ms "
        "| total per pair ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for backend, r in cost["backends"].items():
        p = r["per_pair_ms"]
        lines.append(
            f"| {backend} | {r['model']} | {p['detect']:.2f} | {p['warp']:.2f} | "
            f"{p['preprocess']:.2f} | {p['infer']:.2f} | **{r['per_pair_total_ms']:.2f}** |"
        )
    return lines


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
    """The headline ratios per batch: INT8 (ORT CPU target, OpenVINO) and torch vs ORT FP32
    latency, with each row's top-1 agreement with FP32."""
    ok = {
        (r["backend"], r["precision"], r["batch"], r.get("cuda_graph", False)): r
        for r in rep["results"]
        if r["status"] == "ok"
    }

    def agree(r: dict[str, Any]) -> str:
        a = (r.get("agreement") or {}).get("top1_agreement")
        return "" if a is None else f", agreement {a:.3f}"

    lines = []
    for (backend, precision, batch, graph), r in sorted(ok.items(), key=lambda kv: kv[0][2]):
        if (backend, precision, graph) != ("onnxruntime", "fp32", False):
            continue
        p50 = r["latency_ms"]["p50"]
        parts = [f"batch {batch}: ORT FP32 {p50:.2f} ms"]
        for key, name in (
            (("onnxruntime", "int8"), "ORT INT8 CPU target (U8S8)"),
            (("openvino", "fp32"), "OpenVINO FP32"),
            (("openvino", "int8"), "OpenVINO INT8 (CPU-target file)"),
            (("torch", "fp32"), "torch FP32"),
        ):
            other = ok.get((*key, batch, False))
            if other:
                o = other["latency_ms"]["p50"]
                parts.append(f"{name} {o:.2f} ms = **{o / p50:.2f}×** ORT FP32{agree(other)}")
        lines.append("- " + "; ".join(parts))
    if rep.get("recommendation"):
        lines.append(f"- {rep['recommendation']['line']}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configs", default="tiny,paper")
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--batches", default="1", help="comma-separated batch sizes (e.g. 1,8)")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads per backend")
    ap.add_argument(
        "--calib-method",
        default="minmax",
        help="INT8 calibration method (percentile on the paper model needs > 22 GB of memory)",
    )
    ap.add_argument("--detector", default=None, help="YuNet model for the alignment stages")
    ap.add_argument(
        "--out", default=None, help="default: benchmarks/results/<machine-tag>/<date>-<cpu flags>"
    )
    ap.add_argument("--tag", default=None, help="machine tag (default: from the environment)")
    ap.add_argument("--keep-models", action="store_true", help="keep the generated models")
    ap.add_argument(
        "--align-sweep", action="store_true", help="also sweep aligner settings (align_bench)"
    )
    args = ap.parse_args()

    from mmnet_edge.bench import RunSettings, run_benchmark
    from mmnet_edge.bench.environment import collect_environment, machine_tag
    from mmnet_edge.bench.report import to_markdown, write_json, write_plot
    from mmnet_edge.bench.stages import measure_stages

    env = collect_environment()
    flags = env.get("cpu_flags") or []
    isa = "vnni" if any("vnni" in f for f in flags) else ("avx2" if "avx2" in flags else "base")
    default_out = HERE / "results" / (args.tag or machine_tag(env)) / f"{env['date'][:10]}-{isa}"
    out = Path(args.out) if args.out else default_out
    out.mkdir(parents=True, exist_ok=True)
    work = out / "_models"
    notes: list[str] = [
        "weights are seeded and untrained (no trained paper-size checkpoint exists): latency "
        "does not depend on them, but the agreement column is on random-weight logits, whose "
        "top classes are closer together than a trained model's",
    ]
    summary = [
        f"# Benchmark suite — {env['date']}",
        "",
        f"Machine: {env['cpu']}, {env['cores']} cores, CPU flags: {', '.join(flags) or 'none'}"
        f"{'' if isa == 'vnni' else ' (no VNNI)'}; GPU: {env.get('gpu') or 'none'}; "
        f"torch {env.get('torch')}, onnxruntime {env.get('onnxruntime')}, "
        f"OpenVINO {env.get('openvino') or 'absent'}, TensorRT {env.get('tensorrt') or 'absent'}",
        "",
        f"Method: batch {args.batches}, {args.threads} threads per backend, every case "
        f"interleaved round-robin in one run ({args.iters} rounds after 5 warm-up calls); "
        "ratios are p50 latency / ONNX Runtime FP32 p50 (< 1: faster); agreement = top-1 "
        "agreement with ONNX Runtime FP32 on held-out synthetic pairs. INT8: "
        f"{args.calib_method} calibration on the built-in synthetic set.",
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
            models = make_models(config, d, notes, args.calib_method)
            onnx_path = next((m for m in models if m.suffix == ".onnx"), None)
            print(f"== {config}: benchmark", flush=True)
            rep = run_benchmark(
                models,
                ["torch", "onnxruntime", "openvino", "tensorrt"],
                ["fp32", "fp16", "int8"],
                [int(b) for b in args.batches.split(",")],
                RunSettings(warmup=5, iters=args.iters, threads=args.threads, cuda_graph=cuda),
                baseline="onnxruntime:fp32" if onnx_path else "torch:fp32",
                export_missing=False,
            )
            interrupted = interrupted or not rep["complete"]
            if not interrupted and onnx_path is not None:
                print(f"== {config}: end-to-end stages and per-pair cost in a clip", flush=True)
                try:
                    rep["stages"] = measure_stages(onnx_path, "auto", args.detector)
                except Exception as exc:  # noqa: BLE001
                    notes.append(f"{config}: stage split failed ({type(exc).__name__}: {exc})")
                try:
                    rep["clip_pair_cost"] = clip_pair_cost(
                        onnx_path, args.detector, threads=args.threads
                    )
                except Exception as exc:  # noqa: BLE001 - no detector: say so
                    notes.append(f"{config}: clip cost skipped ({type(exc).__name__}: {exc})")
            write_json(rep, out / f"{config}.json")
            md = to_markdown(rep)
            if rep.get("clip_pair_cost"):
                md += "\n".join(clip_section(rep["clip_pair_cost"])) + "\n"
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
        if args.align_sweep and not interrupted:
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
