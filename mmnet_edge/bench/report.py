"""Benchmark reports: JSON (machine-readable), Markdown and PNG (human-readable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def result_label(r: dict[str, Any]) -> str:
    """``torch``, ``torch+graph``, ``onnxruntime`` … (CUDA-graph twins are distinct)."""
    return r["backend"] + ("+graph" if r.get("cuda_graph") else "")


def find_baseline(results: list[dict[str, Any]], baseline: str | None) -> dict | None:
    """The first ok result matching ``BACKEND[+graph][:PRECISION]`` (default: first ok)."""
    ok = [r for r in results if r["status"] == "ok"]
    if not ok:
        return None
    if baseline:
        from mmnet_edge.runtime.backends import canonical_backend

        name, _, precision = baseline.partition(":")
        backend, graph, _ = name.partition("+")
        label = canonical_backend(backend) + ("+graph" if graph else "")
        for r in ok:
            if result_label(r) == label and (not precision or r["precision"] == precision):
                return r
    return ok[0]


def add_ratios(report: dict[str, Any], baseline: str | None = None) -> None:
    """``speedup_vs_baseline`` per ok result (same batch): baseline p50 / result p50."""
    results = report["results"]
    base_any = find_baseline(results, baseline)
    if base_any is None:
        return
    report["baseline"] = f"{result_label(base_any)}:{base_any['precision']}"
    for r in results:
        if r["status"] != "ok":
            continue
        same = [
            b
            for b in results
            if b["status"] == "ok"
            and b["batch"] == r["batch"]
            and result_label(b) == result_label(base_any)
            and b["precision"] == base_any["precision"]
        ]
        if same:
            r["speedup_vs_baseline"] = same[0]["latency_ms"]["p50"] / r["latency_ms"]["p50"]


def write_json(report: dict[str, Any], path: Path) -> None:
    from mmnet_edge.artifacts.files import atomic_write_text

    atomic_write_text(path, json.dumps(report, indent=2, sort_keys=True, default=str))


def _mb(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f}"


def to_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: environment, side-by-side table with ratios, skips, stages."""
    env = report["environment"]
    model = report["model"]
    jetson = env.get("jetson") or {}
    jetson_txt = (
        f", Jetson {jetson.get('model')} power mode {jetson.get('power_mode')}" if jetson else ""
    )
    lines = [
        f"# mmnet-edge benchmark — {env.get('date')}",
        "",
        f"- machine: {env.get('cpu')} ({env.get('cores')} cores"
        + (f", {', '.join(env['cpu_flags'])}" if env.get("cpu_flags") else "")
        + f"), GPU: {env.get('gpu') or 'none'}"
        + jetson_txt,
        f"- torch {env.get('torch')}, onnxruntime {env.get('onnxruntime')}, "
        f"OpenVINO {env.get('openvino') or 'absent'}, "
        f"TensorRT {env.get('tensorrt') or 'absent'}, CUDA {env.get('cuda') or 'absent'}"
        + (f", driver {env['gpu_driver']}" if env.get("gpu_driver") else ""),
        f"- model: {model.get('name')} ({model.get('input_size')} px) — "
        f"{model['gflops_per_sample']:.3f} GFLOPs per pair (multiply-add = 2)",
        f"- method: {report['method']}",
        "",
        f"| backend | precision | batch | p50 ms | p90 ms | p99 ms | mean ± std ms | ms/pair | "
        f"pairs/s | GFLOP/s | peak RSS MiB | CUDA peak MiB | vs {report.get('baseline', '—')} | "
        "top-1 agreement |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        if r["status"] != "ok":
            continue
        lat = r["latency_ms"]
        ratio = r.get("speedup_vs_baseline")
        lines.append(
            f"| {result_label(r)} | {r['precision']} | {r['batch']} | {lat['p50']:.2f} | "
            f"{lat['p90']:.2f} | {lat['p99']:.2f} | {lat['mean']:.2f} ± {lat['std']:.2f} | "
            f"{lat['p50'] / r['batch']:.2f} | {r['throughput_per_s']:.1f} | "
            f"{r['achieved_gflops_per_s']:.1f} | {_mb(r.get('peak_rss_mb'))} | "
            f"{_mb(r.get('cuda_peak_mb'))} | {f'{ratio:.2f}×' if ratio else '—'} | "
            f"{_agreement(r)} |"
        )
    if report.get("baseline"):
        lines += [
            "",
            f"Ratio = {report['baseline']} p50 / row p50 at the same batch (> 1: faster than "
            "the baseline). GFLOP/s = pairs/s × GFLOPs per pair: compare with the machine's "
            "peak to see how close each backend runs to it.",
        ]
    if report.get("agreement"):
        a = report["agreement"]
        lines += [
            "",
            f"Top-1 agreement: share of {a['pairs']} {a['inputs']} on which the row's top-1 "
            f"class equals {a['reference']}'s ({a['reference_model']}).",
        ]
    if report.get("exports"):
        lines += ["", f"Exports: {report['exports']['message']}"]
    skipped = [r for r in report["results"] if r["status"] != "ok"]
    if skipped:
        lines += ["", "Skipped:", ""]
        seen = set()
        for r in skipped:
            key = (result_label(r), r["precision"], r.get("reason"))
            if key not in seen:
                seen.add(key)
                lines.append(f"- {result_label(r)}/{r['precision']}: {r.get('reason')}")
    if report.get("stages"):
        st = report["stages"]
        lines += [
            "",
            f"## Per-stage cost (batch 1, {st['backend']} on {st.get('device', '?')}, "
            f"{st['input']})",
            "",
            f"Alignment: {st['align']}",
            "",
            "| stage | p50 ms | p90 ms | p99 ms |",
            "|---|---:|---:|---:|",
        ]
        for k, v in st["stages_ms"].items():
            lines.append(f"| {k} | {v['p50']:.2f} | {v['p90']:.2f} | {v['p99']:.2f} |")
        if st.get("clock"):
            lines += ["", f"Clock: {st['clock']}."]
    if not report.get("complete", True):
        lines += ["", "**Interrupted: partial results.**"]
    if "recommendation" in report:
        from mmnet_edge.bench.recommend import recommendation_line

        lines += [
            "",
            "Recommendation: the fastest backend × precision at batch 1 whose top-1 agreement "
            "with the FP32 reference passes the gate; ratio = its p50 / ONNX Runtime FP32 p50.",
            "",
            recommendation_line(report["recommendation"]),
        ]
    return "\n".join(lines) + "\n"


def _agreement(r: dict[str, Any]) -> str:
    a = r.get("agreement") or {}
    v = a.get("top1_agreement")
    return "—" if v is None else f"{v:.3f}"


def write_plot(report: dict[str, Any], path: Path) -> None:
    """Bar chart: p50 latency with min–p99 whiskers, and throughput, per ok result."""
    try:
        import matplotlib
    except ImportError as exc:
        from mmnet_edge.errors import BackendUnavailableError

        raise BackendUnavailableError(
            "the PNG plot needs matplotlib: pip install 'mmnet-edge[plot]' (JSON and Markdown "
            "reports need nothing extra)"
        ) from exc

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in report["results"] if r["status"] == "ok"]
    if not ok:
        return
    labels = [f"{result_label(r)}\n{r['precision']} b{r['batch']}" for r in ok]
    p50 = [r["latency_ms"]["p50"] for r in ok]
    lo = [r["latency_ms"]["p50"] - r["latency_ms"]["min"] for r in ok]
    hi = [r["latency_ms"]["p99"] - r["latency_ms"]["p50"] for r in ok]
    tput = [r["throughput_per_s"] for r in ok]
    x = range(len(ok))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(max(8, 2.0 * len(ok)), 4))
    ax1.bar(x, p50, yerr=[lo, hi], capsize=4, color="#4C72B0")
    ax1.set_xticks(list(x), labels, fontsize=7)
    ax1.set_ylabel("latency per call (ms): p50, whiskers min–p99")
    ax2.bar(x, tput, color="#55A868")
    ax2.set_xticks(list(x), labels, fontsize=7)
    ax2.set_ylabel("throughput (pairs/s at p50)")
    env = report["environment"]
    fig.suptitle(
        f"mmnet-edge bench — {report['model'].get('name')} — {env.get('cpu')}"
        + (f" / {env['gpu'][0]}" if env.get("gpu") else ""),
        fontsize=9,
    )
    fig.tight_layout()
    from mmnet_edge.artifacts.files import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
