"""Benchmark reports: JSON (machine-readable), Markdown and PNG (human-readable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def find_baseline(results: list[dict[str, Any]], baseline: str | None) -> dict | None:
    ok = [r for r in results if r["status"] == "ok"]
    if not ok:
        return None
    if baseline:
        backend, _, precision = baseline.partition(":")
        for r in ok:
            if r["backend"] == backend and (not precision or r["precision"] == precision):
                return r
    return ok[0]


def add_ratios(report: dict[str, Any], baseline: str | None = None) -> None:
    """``speedup_vs_baseline`` per ok result (same batch): baseline p50 / result p50."""
    results = report["results"]
    base_any = find_baseline(results, baseline)
    if base_any is None:
        return
    report["baseline"] = f"{base_any['backend']}:{base_any['precision']}"
    for r in results:
        if r["status"] != "ok":
            continue
        same = [
            b
            for b in results
            if b["status"] == "ok"
            and b["batch"] == r["batch"]
            and b["backend"] == base_any["backend"]
            and b["precision"] == base_any["precision"]
        ]
        if same:
            r["speedup_vs_baseline"] = same[0]["latency_ms"]["p50"] / r["latency_ms"]["p50"]


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True, default=str))


def to_markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        f"# mmnet-edge benchmark — {env.get('date')}",
        "",
        f"- machine: {env.get('cpu')} ({env.get('cores')} cores), GPU: {env.get('gpu') or 'none'}",
        f"- torch {env.get('torch')}, onnxruntime {env.get('onnxruntime')}, "
        f"TensorRT {env.get('tensorrt') or 'absent'}, CUDA {env.get('cuda') or 'absent'}",
        f"- model: {report['model'].get('name')} — {report['model']['gflops_per_sample']:.3f} "
        "GFLOPs per pair",
        f"- method: {report['method']}",
        "",
        f"| backend | precision | batch | p50 ms | p90 ms | p99 ms | mean ± std ms | pairs/s | "
        f"GFLOP/s | vs {report.get('baseline', 'baseline')} |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        if r["status"] != "ok":
            continue
        lat = r["latency_ms"]
        ratio = r.get("speedup_vs_baseline")
        lines.append(
            f"| {r['backend']} | {r['precision']} | {r['batch']} | {lat['p50']:.2f} | "
            f"{lat['p90']:.2f} | {lat['p99']:.2f} | {lat['mean']:.2f} ± {lat['std']:.2f} | "
            f"{r['throughput_per_s']:.1f} | {r['achieved_gflops_per_s']:.1f} | "
            f"{f'{ratio:.2f}×' if ratio else '—'} |"
        )
    skipped = [r for r in report["results"] if r["status"] != "ok"]
    if skipped:
        lines += ["", "Skipped:", ""]
        seen = set()
        for r in skipped:
            key = (r["backend"], r["precision"], r.get("reason"))
            if key not in seen:
                seen.add(key)
                lines.append(f"- {r['backend']}/{r['precision']}: {r.get('reason')}")
    if report.get("stages"):
        st = report["stages"]
        lines += [
            "",
            f"## Per-stage cost (batch 1, {st['backend']}, {st['input']})",
            "",
            f"Alignment: {st['align']}",
            "",
            "| stage | p50 ms | p90 ms |",
            "|---|---:|---:|",
        ]
        for k, v in st["stages_ms"].items():
            lines.append(f"| {k} | {v['p50']:.2f} | {v['p90']:.2f} |")
    if not report.get("complete", True):
        lines += ["", "**Interrupted: partial results.**"]
    return "\n".join(lines) + "\n"


def write_plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in report["results"] if r["status"] == "ok"]
    if not ok:
        return
    labels = [f"{r['backend']}\n{r['precision']} b{r['batch']}" for r in ok]
    p50 = [r["latency_ms"]["p50"] for r in ok]
    lo = [r["latency_ms"]["p50"] - r["latency_ms"]["min"] for r in ok]
    hi = [r["latency_ms"]["p99"] - r["latency_ms"]["p50"] for r in ok]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(ok)), 4))
    ax.bar(range(len(ok)), p50, yerr=[lo, hi], capsize=4, color="#4C72B0")
    ax.set_xticks(range(len(ok)), labels, fontsize=8)
    ax.set_ylabel("latency per batch (ms): p50, whiskers min–p99")
    ax.set_title(f"mmnet-edge bench — {report['environment'].get('cpu')}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
