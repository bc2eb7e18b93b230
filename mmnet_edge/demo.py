"""The main job, end to end on the built-in synthetic micro-motion set.

train (tiny MMNet, LOSO) → export ONNX → INT8 Q/DQ (TensorRT + CPU targets) with a
calibration set → accuracy report FP32 vs INT8 → benchmark side by side → predict on a
real face photograph with alignment → (TensorRT + GPU present) FP16 engine + benchmark.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmnet_edge.artifacts.files import atomic_write_text
from mmnet_edge.errors import DetectorUnavailableError, MMNetEdgeError, OutputError


def fmt(value: Any, digits: int = 3, signed: bool = False) -> str:
    """A number for the console (``n/a`` when absent): never a raw 17-digit float."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


@dataclass
class DemoSettings:
    output: Path = Path("runs/demo")
    subjects: int = 5
    per_class: int = 8
    epochs: int | None = None  # None: the tiny recipe's default
    bench_iters: int = 50
    detector: str | None = None
    seed: int = 0


@dataclass
class DemoResult:
    summary: dict[str, Any] = field(default_factory=dict)
    artefacts: dict[str, Path] = field(default_factory=dict)


def _step(title: str) -> float:
    print(f"\n=== {title}", flush=True)
    return time.perf_counter()


def _done(t0: float) -> None:
    print(f"    ({time.perf_counter() - t0:.1f} s)", flush=True)


def run_demo(s: DemoSettings) -> DemoResult:
    from mmnet_edge.data.synthetic import SyntheticConfig
    from mmnet_edge.train import TrainConfig, train

    out = Path(s.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create {out}: {exc.strerror or exc}; choose a writable --output folder"
        ) from exc
    res = DemoResult()
    t_all = time.perf_counter()

    # 1. train -------------------------------------------------------------------------
    t0 = _step(f"1/6 train a tiny MMNet, LOSO over {s.subjects} synthetic subjects")
    synth = SyntheticConfig(subjects=s.subjects, samples_per_class=s.per_class, seed=s.seed)
    tr = train(
        TrainConfig(
            dataset="synthetic",
            model="tiny",
            protocol="loso",
            output=out / "train",
            synthetic=synth,
            epochs=s.epochs,
            seed=s.seed,
        )
    )
    m = tr.metrics
    res.summary["train"] = {
        "protocol": "LOSO, fixed epoch count (leakage-free)",
        "accuracy": m.accuracy,
        "uf1": m.uf1,
        "uar": m.uar,
        "chance_uf1": 1 / len(m.per_class) if m.per_class else None,
    }
    res.artefacts["checkpoint"] = tr.model_path
    res.artefacts["train report"] = tr.report_path
    print(f"    LOSO accuracy {m.accuracy:.3f}  UF1 {m.uf1:.3f}  UAR {m.uar:.3f}")
    _done(t0)

    # 2-3. calibration set + export (ONNX FP32 validated, INT8 Q/DQ for both targets) -----
    from mmnet_edge.artifacts import read_metadata
    from mmnet_edge.artifacts.formats import variant_path
    from mmnet_edge.calibration.sources import build_synthetic_set
    from mmnet_edge.export import ExportSettings, export_model

    t0 = _step("2/6 calibration set (training subjects)")
    size = read_metadata(tr.model_path).input_size  # preprocessing comes from the model
    calib_path = out / "calib.npz"
    build_synthetic_set(
        calib_path, input_size=size, subjects=s.subjects, per_class=s.per_class, seed=s.seed
    )
    res.artefacts["calibration set"] = calib_path
    _done(t0)
    t0 = _step("3/6 export ONNX (validated against PyTorch) + INT8 Q/DQ models")
    exp_dir = out / "export"
    ex = export_model(
        tr.model_path,
        exp_dir,
        ExportSettings(precision="int8", calib=calib_path),
        on_step=lambda name: print(f"    ▸ {name}", flush=True),
    )
    for st in ex.steps:
        print(f"    {st.name}: {st.detail}")
        for p in st.paths:
            res.artefacts[f"onnx {st.name}"] = p
    onnx_path = ex.onnx
    _done(t0)

    # 4. accuracy report ---------------------------------------------------------------
    from mmnet_edge.calibration.report import accuracy_report, write_report
    from mmnet_edge.calibration.sources import build_synthetic_set as _build

    t0 = _step("4/6 accuracy report FP32 vs INT8 on held-out synthetic subjects")
    heldout = out / "heldout.npz"
    _build(heldout, input_size=size, subjects=3, per_class=s.per_class, seed=s.seed + 1000)
    variants = {
        "int8-cpu": variant_path(onnx_path, "onnx-int8-cpu"),
        "int8-openvino": variant_path(onnx_path, "onnx-int8-openvino"),
        "int8": variant_path(onnx_path, "onnx-int8"),
    }
    rep = accuracy_report(onnx_path, variants, heldout, sensitivity=True, calib=calib_path)
    write_report(rep, out / "int8_report")
    res.summary["int8"] = {
        name: {"top1_agreement": v["top1_agreement"], "uf1_delta": v.get("uf1_delta")}
        for name, v in rep["variants"].items()
    }
    for name, v in rep["variants"].items():
        print(
            f"    {name}: top-1 agreement {fmt(v.get('top1_agreement'))}, "
            f"UF1 Δ {fmt(v.get('uf1_delta'), signed=True)}"
        )
    res.artefacts["int8 report"] = out / "int8_report.md"
    _done(t0)

    # 5. bench -------------------------------------------------------------------------
    from mmnet_edge.bench import RunSettings, run_benchmark
    from mmnet_edge.bench.report import to_markdown, write_json, write_plot

    t0 = _step("5/6 benchmark torch vs ONNX Runtime vs OpenVINO, FP32 vs INT8 (interleaved)")
    bench = run_benchmark(
        [tr.model_path, onnx_path],
        ["torch", "onnxruntime", "openvino", "tensorrt"],
        ["fp32", "fp16", "int8"],
        [1, 8],
        RunSettings(warmup=5, iters=s.bench_iters),
        baseline="onnxruntime:fp32",
    )
    write_json(bench, out / "bench.json")
    atomic_write_text(out / "bench.md", to_markdown(bench))
    write_plot(bench, out / "bench.png")
    res.summary["bench"] = [
        {k: r.get(k) for k in ("backend", "precision", "batch", "status")}
        | (
            {"p50_ms": r["latency_ms"]["p50"], "vs_ort_fp32": r.get("speedup_vs_baseline")}
            if r["status"] == "ok"
            else {"reason": r.get("reason")}
        )
        for r in bench["results"]
    ]
    if bench.get("recommendation"):
        from mmnet_edge.bench.recommend import recommendation_line

        res.summary["recommendation"] = recommendation_line(bench["recommendation"])
    res.artefacts["bench report"] = out / "bench.md"
    _done(t0)

    # 6. predict on a real photograph --------------------------------------------------
    t0 = _step("6/6 predict on a real face photograph (aligned, onset-locked)")
    res.summary["predict"] = _predict_photo(onnx_path, s.detector)
    _done(t0)

    # optional: TensorRT ---------------------------------------------------------------
    res.summary["tensorrt"] = _tensorrt_step(onnx_path, s)
    res.summary["elapsed_s"] = time.perf_counter() - t_all
    atomic_write_text(
        out / "summary.json",
        json.dumps(
            {"summary": res.summary, "artefacts": {k: str(v) for k, v in res.artefacts.items()}},
            indent=2,
            default=str,
        ),
    )
    res.artefacts["summary"] = out / "summary.json"
    return res


def _no_detector_line(detector: str | None) -> str:
    """Why the photo step has no face detector, and how to enable it: one line."""
    import os

    from mmnet_edge.align.model_fetch import OFFLINE_VAR, offline

    given = detector or os.environ.get("MMNET_EDGE_FACE_DETECTOR")
    if given:
        why = f"the face detector path {given} does not exist or does not load"
    elif offline():
        why = f"the face detector is not in the cache and {OFFLINE_VAR} forbids fetching it"
    else:
        why = "the face detector could not be fetched (no network?)"
    return (
        f"{why}; to enable: run `mmnet-edge doctor --fetch` with network access, set "
        "MMNET_EDGE_MODEL_MIRROR to a server holding it, or pass --detector PATH"
    )


def _predict_photo(onnx_path: Path, detector: str | None) -> dict[str, Any]:
    from mmnet_edge.runtime.runtime import Runtime

    try:
        from skimage import data
    except ImportError:
        return {"status": "skipped", "reason": "scikit-image (dev extra) not installed"}
    onset = data.astronaut()[:, :, ::-1].copy()
    apex = onset.copy()
    apex[300:320, 230:280] = onset[302:322, 230:280]  # a 2-px lip-corner raise
    try:
        # the pinned detector is fetched here on first use (progress bar on stderr)
        with Runtime(onnx_path, detector=detector) as rt:
            p = rt.predict(onset, apex)
    except DetectorUnavailableError as exc:
        line = _no_detector_line(detector)
        print(f"    skipped: {line}")
        return {"status": "skipped", "reason": line, "error": str(exc)}
    except MMNetEdgeError as exc:
        print(f"    skipped: {exc}")
        return {"status": "skipped", "reason": str(exc)}
    print(
        f"    {p.label} ({p.confidence:.2f}); face box {tuple(round(v) for v in p.face_box)}; "
        f"align {p.timings_ms['align']:.1f} ms, inference {p.timings_ms['inference']:.1f} ms"
    )
    print(
        "    (a model trained on synthetic faces says nothing true about a real one: this "
        "step shows the pipeline, not accuracy)"
    )
    return {
        "status": "ok",
        "label": p.label,
        "confidence": p.confidence,
        "face_box": p.face_box,
        "timings_ms": p.timings_ms,
    }


def _tensorrt_step(onnx_path: Path, s: DemoSettings) -> dict[str, Any]:
    import importlib.util

    if importlib.util.find_spec("tensorrt") is None:
        return {"status": "skipped", "reason": "TensorRT not installed"}
    from mmnet_edge.bench import RunSettings, run_benchmark
    from mmnet_edge.export import ExportSettings, export_model
    from mmnet_edge.export.engine_options import EngineOptions

    try:
        t0 = _step("extra: FP16 TensorRT engine + benchmark")
        settings = ExportSettings(
            fmt="engine", precision="fp16", engine=EngineOptions(precision="fp16", batch=(1, 8, 8))
        )
        ex = export_model(onnx_path, None, settings)
        if ex.engine is None:
            return {"status": "skipped", "reason": ex.engine_skipped}
        rep = run_benchmark(
            [ex.engine], ["tensorrt"], ["fp16"], [1, 8], RunSettings(iters=s.bench_iters)
        )
        _done(t0)
        return {"status": "ok", "engine": str(ex.engine), "results": rep["results"]}
    except MMNetEdgeError as exc:
        return {"status": "skipped", "reason": str(exc)}


def print_summary(res: DemoResult) -> None:
    s = res.summary
    t = s["train"]
    print("\n================ mmnet-edge demo summary ================")
    print(
        f"LOSO (leakage-free, fixed epochs): accuracy {fmt(t['accuracy'])}, UF1 {fmt(t['uf1'])}, "
        f"UAR {fmt(t['uar'])}  (chance UF1 ≈ {fmt(t.get('chance_uf1'), 2)})"
    )
    for name, v in s.get("int8", {}).items():
        print(
            f"INT8 {name}: top-1 agreement with FP32 {fmt(v.get('top1_agreement'))}, "
            f"UF1 Δ {fmt(v.get('uf1_delta'), signed=True)}"
        )
    print("latency (p50 ms per batch, this machine):")
    for r in s.get("bench", []):
        if r["status"] == "ok":
            ratio = r.get("vs_ort_fp32")
            print(
                f"  {r['backend']:<12} {r['precision']:<5} b{r['batch']:<3} {r['p50_ms']:8.2f}"
                + (f"   speed {ratio:.2f}× of ORT FP32" if ratio else "")
            )
    skipped = {
        (r["backend"], r["precision"]): r["reason"]
        for r in s.get("bench", [])
        if r["status"] != "ok"
    }
    for (b, p), why in sorted(skipped.items()):
        print(f"  {b:<12} {p:<5} skipped: {why}")
    if s.get("recommendation"):
        print(s["recommendation"])
    pr = s.get("predict", {})
    if pr.get("status") == "ok":
        print(f"predict on a real photo: {pr['label']} ({fmt(pr.get('confidence'), 2)})")
    else:
        print(f"predict on a real photo: skipped ({pr.get('reason', 'not run')})")
    engine_step = s.get("tensorrt", {})
    why = f" ({engine_step['reason']})" if engine_step.get("reason") else ""
    print(f"TensorRT: {engine_step.get('status')}{why}")
    print(f"total {fmt(s['elapsed_s'] / 60, 1)} min. Artefacts:")
    for k, v in res.artefacts.items():
        print(f"  {k:<22} {v}")
