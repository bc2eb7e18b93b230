"""The recommendation ``mmnet-edge bench`` ends with: fastest backend × precision at batch 1
whose top-1 agreement with the FP32 reference passes the gate on each of the gate's held-out
sets (:mod:`mmnet_edge.bench.agreement`) and, for an INT8 file, whose export gate passed
(:func:`mmnet_edge.calibration.gate.gate_failure`).

The record is self-contained (model identity, CPU, ranking with each file's SHA-256) so that
``open_runner(..., backend="auto", recommendation=...)`` can check that it applies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmnet_edge.compare import AGREEMENT_GATE


def _label(r: dict[str, Any]) -> str:
    return r["backend"] + ("+graph" if r.get("cuda_graph") else "")


def model_identity_of(models: Sequence[Path]) -> dict[str, Any]:
    """Checkpoint / FP32-ONNX SHA-256 of the benchmarked model (merged over the files)."""
    from mmnet_edge.runtime.autoselect import model_identity

    ident: dict[str, Any] = {"name": ", ".join(Path(m).name for m in models)}
    for m in models:
        try:
            one = model_identity(m)
        except Exception:  # noqa: BLE001, S112 - an engine without sidecar: identity from others
            continue
        for key in ("checkpoint_sha256", "onnx_sha256"):
            ident[key] = ident.get(key) or one.get(key)
    return ident


def recommend(
    report: dict[str, Any], models: Sequence[Path], gate: float = AGREEMENT_GATE
) -> dict[str, Any] | None:
    """The recommendation record for a finished report (None when nothing was measured)."""
    from mmnet_edge.artifacts.gate_record import gate_failure
    from mmnet_edge.artifacts.metadata_io import file_sha256

    ok = [r for r in report["results"] if r["status"] == "ok" and r["batch"] == 1]
    if not ok:
        return None
    env = report.get("environment", {})
    ort = next(
        (
            r
            for r in ok
            if r["backend"] == "onnxruntime" and r["precision"] == "fp32" and r["device"] == "cpu"
        ),
        next((r for r in ok if r["backend"] == "onnxruntime" and r["precision"] == "fp32"), None),
    )
    ranking, rejected = [], []
    for r in sorted(ok, key=lambda r: r["latency_ms"]["p50"]):
        agree = (r.get("agreement") or {}).get("top1_agreement")
        entry = {
            "backend": r["backend"],
            "precision": r["precision"],
            "device": r["device"],
            "cuda_graph": bool(r.get("cuda_graph")),
            "model": Path(r["model"]).name if r.get("model") else None,
            "file_sha256": file_sha256(r["model"]) if r.get("model") else None,
            "p50_ms": r["latency_ms"]["p50"],
            "latency_vs_ort_fp32": (
                r["latency_ms"]["p50"] / ort["latency_ms"]["p50"] if ort else None
            ),
            "agreement": agree,
        }
        failed_export_gate = gate_failure(r["model"]) if r.get("model") else ""
        if failed_export_gate:
            entry["export_gate"] = failed_export_gate
        passed = agree is not None and agree >= gate and not failed_export_gate
        (ranking if passed else rejected).append(entry)
    rec: dict[str, Any] = {
        "gate": gate,
        "date": env.get("date"),
        "machine": {k: env.get(k) for k in ("cpu", "cpu_flags", "gpu")},
        "model_identity": model_identity_of(models),
        "reference": (report.get("agreement") or {}).get("reference"),
        "ranking": ranking,
        "rejected": rejected,
    }
    if ranking:
        rec.update({k: ranking[0][k] for k in ("backend", "precision", "device", "cuda_graph")})
        rec.update(
            p50_ms=ranking[0]["p50_ms"],
            latency_vs_ort_fp32=ranking[0]["latency_vs_ort_fp32"],
            agreement=ranking[0]["agreement"],
        )
    rec["line"] = recommendation_line(rec)
    return rec


def recommendation_line(rec: dict[str, Any] | None) -> str:
    """``recommended: openvino int8 (19.70 ms, 0.32× vs ORT FP32, agreement 0.990 ≥ 0.97)``."""
    if not rec:
        return "recommended: nothing (no batch-1 case was measured)"
    if not rec.get("ranking"):
        why = (
            "no FP32 reference was measured, so agreement is unknown"
            if rec.get("reference") is None
            else f"no case kept top-1 agreement ≥ {rec['gate']} with {rec['reference']}"
        )
        return f"recommended: nothing ({why})"
    name = _label(rec) + (f" on {rec['device']}" if rec["device"] != "cpu" else "")
    ratio = rec.get("latency_vs_ort_fp32")
    ratio_txt = f", {ratio:.2f}× vs ORT FP32" if ratio is not None else ""
    line = (
        f"recommended: {name} {rec['precision']} ({rec['p50_ms']:.2f} ms{ratio_txt}, "
        f"agreement {rec['agreement']:.3f} ≥ {rec['gate']:g})"
    )
    faster = [e for e in rec.get("rejected", []) if e["p50_ms"] < rec["p50_ms"]]
    if faster:  # say why the fastest case was passed over (the reader sees its latency)
        e = min(faster, key=lambda e: e["p50_ms"])
        line += (
            f"; faster {_label(e)} {e['precision']} ({e['p50_ms']:.2f} ms) {_why_rejected(e, rec)}"
        )
    return line


def _why_rejected(entry: dict[str, Any], rec: dict[str, Any]) -> str:
    """Why a measured case was not recommended, in a few words."""
    if entry.get("export_gate"):
        worst = re.search(r"\(worst set ([^)]*)\)", entry["export_gate"])
        return "failed the INT8 gate at export" + (f" ({worst.group(1)})" if worst else "")
    if entry.get("agreement") is None:
        return "has no measured agreement"
    return f"agrees {entry['agreement']:.3f} < {rec['gate']:g}"
