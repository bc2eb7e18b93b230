"""``backend="auto"`` from measurements: follow a bench recommendation, or probe on load.

A recommendation is what ``mmnet-edge bench`` writes into its JSON report
(``report["recommendation"]``): the fastest backend × precision at batch 1 whose top-1
agreement with the FP32 reference passes a gate, with the ranked list of every candidate
that passed, the model's identity (checkpoint / FP32 ONNX SHA-256) and the machine's CPU.
:func:`follow_recommendation` uses it only for the same model on the same CPU model and
only for a file whose bytes are the ones benchmarked; otherwise it says why not and the
caller falls back to the fixed preference.

:func:`probe` (opt-in, ``open_runner(..., probe=True)``) measures instead: every available
CPU backend × precision whose ONNX file exists is timed for a few batch-1 runs and compared
with ONNX Runtime FP32 on held-out synthetic pairs; the fastest that passes the gate wins.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.artifacts.platform import cpu_model
from mmnet_edge.compare import AGREEMENT_GATE
from mmnet_edge.errors import InputError, MMNetEdgeError

PathLike = str | os.PathLike[str]


@dataclass
class Choice:
    """What the measurement-based choice decided (``backend`` None: fall back), and why."""

    backend: str | None
    precision: str | None
    path: Path | None
    reason: str
    options: dict[str, Any] = field(default_factory=dict)
    facts: list[dict[str, Any]] = field(default_factory=list)
    device: str | None = None  #: where it was measured (``cpu``, ``cuda:0``)


def model_identity(path: PathLike) -> dict[str, Any]:
    """Checkpoint and FP32-ONNX SHA-256 of the model any artefact belongs to (plus name)."""
    from mmnet_edge.artifacts.formats import container_of
    from mmnet_edge.artifacts.metadata_io import file_sha256, read_metadata

    path = Path(path)
    kind = container_of(path)
    meta = read_metadata(path)
    ident: dict[str, Any] = {"name": path.name, "checkpoint_sha256": None, "onnx_sha256": None}
    if kind == "checkpoint":
        ident["checkpoint_sha256"] = file_sha256(path)
    else:
        ident["checkpoint_sha256"] = meta.source_checkpoint_sha256
        if kind == "onnx":
            src = (meta.extra or {}).get("source_onnx_sha256")
            ident["onnx_sha256"] = src or (file_sha256(path) if meta.precision == "fp32" else None)
    return ident


def same_model(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when two identities name the same trained weights."""
    for key in ("checkpoint_sha256", "onnx_sha256"):
        if a.get(key) and b.get(key):
            return a[key] == b[key]
    return False


def load_recommendation(rec: PathLike | dict[str, Any]) -> dict[str, Any]:
    """The recommendation from a bench JSON path, a bench report dict or the record itself."""
    if isinstance(rec, (str, os.PathLike)):
        p = Path(rec)
        try:
            rec = json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(
                f"cannot read the bench result {p} ({exc}); pass the JSON written by "
                "`mmnet-edge bench ... --json FILE`"
            ) from exc
    if not isinstance(rec, dict):
        raise InputError("recommendation must be a bench JSON path or dict")
    rec = rec.get("recommendation", rec)
    if not isinstance(rec, dict) or "ranking" not in rec:
        raise InputError(
            "this bench result has no recommendation (no FP32 reference row, or written by an "
            "older mmnet-edge); re-run `mmnet-edge bench MODEL --json FILE`"
        )
    return rec


def follow_recommendation(
    rec: PathLike | dict[str, Any], path: PathLike, kind: str, device: str | None
) -> Choice:
    """The first ranked entry that fits this model file, machine and installation."""
    from mmnet_edge.artifacts.formats import CONTAINER_BACKENDS
    from mmnet_edge.artifacts.metadata_io import file_sha256
    from mmnet_edge.runtime.backends import onnx_variant_path, runner_class

    rec = load_recommendation(rec)
    path = Path(path)
    mine = model_identity(path)
    theirs = rec.get("model_identity") or {}
    if not same_model(theirs, mine):
        return Choice(
            None,
            None,
            None,
            f"recommendation ignored: it was measured for {theirs.get('name', '?')}, a "
            f"different model than {path.name} (SHA-256 differs)",
        )
    here = cpu_model()
    there = (rec.get("machine") or {}).get("cpu")
    if there and there != here:
        return Choice(
            None,
            None,
            None,
            f"recommendation ignored: measured on {there!r}, this machine is {here!r}; re-run "
            "`mmnet-edge bench` here",
        )
    skipped: list[str] = []
    for entry in rec["ranking"]:
        backend, precision = entry["backend"], entry["precision"]
        where = entry.get("device", "cpu")
        if device is not None and where.split(":")[0] != device.split(":")[0]:
            skipped.append(f"{backend} {precision}: measured on {where}, device={device} asked")
            continue
        if backend not in CONTAINER_BACKENDS.get(kind, ()):
            skipped.append(f"{backend} {precision}: does not open a {kind} file")
            continue
        try:
            cls = runner_class(backend)
        except MMNetEdgeError as exc:
            skipped.append(f"{backend} {precision}: {exc}")
            continue
        missing = cls.unavailable_reason()
        if missing:
            skipped.append(f"{backend} {precision}: {missing}")
            continue
        target = path
        if kind == "onnx":
            try:
                target = onnx_variant_path(path, precision, where, backend)
            except MMNetEdgeError as exc:
                skipped.append(f"{backend} {precision}: {exc}")
                continue
        want = entry.get("file_sha256")
        if want and file_sha256(target) != want:
            skipped.append(
                f"{backend} {precision}: {target.name} is not the file benchmarked (re-exported "
                "or re-calibrated since; its agreement was not measured)"
            )
            continue
        ratio = entry.get("latency_vs_ort_fp32")
        why = (
            f"bench recommendation ({rec.get('date', '?')}, {there or 'this CPU'}): {backend} "
            f"{precision} {entry['p50_ms']:.2f} ms p50 at batch 1"
            + (f", {ratio:.2f}× ORT FP32 latency" if ratio else "")
            + f", top-1 agreement {entry['agreement']:.3f} ≥ {rec.get('gate', AGREEMENT_GATE)}"
        )
        if skipped:
            why += " (not taken: " + "; ".join(skipped) + ")"
        opts = {"cuda_graph": True} if entry.get("cuda_graph") else {}
        return Choice(backend, precision, target, why, opts, device=where)
    return Choice(
        None,
        None,
        None,
        "recommendation not usable here: " + ("; ".join(skipped) or "no ranked candidates"),
    )


def probe(
    path: PathLike,
    iters: int = 5,
    pairs: int = 16,
    gate: float = AGREEMENT_GATE,
    threads: int | None = None,
) -> Choice:
    """Time every available CPU backend × precision for ``path``'s model (batch 1, ``iters``
    runs after one warm-up) and pick the fastest whose top-1 agreement with ONNX Runtime
    FP32 on ``pairs`` held-out synthetic pairs is ≥ ``gate``."""
    from mmnet_edge.artifacts.formats import CONTAINER_BACKENDS, container_of
    from mmnet_edge.artifacts.gate_record import gate_failure
    from mmnet_edge.compare import collect_logits, compare_logits
    from mmnet_edge.preprocess import heldout_batches
    from mmnet_edge.runtime.backends import onnx_variant_path, runner_class

    path = Path(path)
    if container_of(path) != "onnx":
        raise InputError(f"probe=True needs an ONNX model (and its variants), not {path.name}")
    if iters < 1:
        raise InputError(f"probe iterations must be ≥ 1, not {iters}")
    facts: list[dict[str, Any]] = []
    reference: np.ndarray | None = None
    inputs = None
    fp32 = onnx_variant_path(path, "fp32", "cpu")
    order = [("onnxruntime", "fp32")] + [
        (b, p)
        for b in CONTAINER_BACKENDS["onnx"]
        for p in ("fp32", "bf16", "int8")
        if (b, p) != ("onnxruntime", "fp32")
    ]
    for backend, precision in order:
        fact: dict[str, Any] = {"backend": backend, "precision": precision}
        facts.append(fact)
        try:
            cls = runner_class(backend)
        except MMNetEdgeError as exc:
            fact["skipped"] = str(exc)
            continue
        why = cls.unavailable_reason() or cls.supports(precision, "cpu")
        if why:
            fact["skipped"] = why
            continue
        try:
            target = onnx_variant_path(fp32, precision, "cpu", backend)
        except MMNetEdgeError as exc:
            fact["skipped"] = f"no {precision} file ({type(exc).__name__})"
            continue
        fact["model"] = target.name
        failed = gate_failure(target) if precision == "int8" else ""
        if failed:
            fact["skipped"] = failed
            continue
        opts = {"threads": threads} if threads else {}
        try:
            with cls(target, device="cpu", precision=precision, **opts) as runner:
                if inputs is None:
                    inputs = heldout_batches(runner.metadata, pairs)
                logits = collect_logits(runner, inputs)
                on, ap = inputs[0][0][:1], inputs[0][1][:1]
                runner.run(on, ap)  # warm-up
                times = []
                for _ in range(iters):
                    t0 = time.perf_counter()
                    runner.run(on, ap)
                    times.append((time.perf_counter() - t0) * 1e3)
        except MMNetEdgeError as exc:
            fact["skipped"] = f"{type(exc).__name__}: {exc}"
            continue
        fact["p50_ms"] = statistics.median(times)
        if reference is None:
            if (backend, precision) != ("onnxruntime", "fp32"):
                fact["skipped"] = "no ONNX Runtime FP32 reference"
                continue
            reference = logits
        fact["agreement"] = compare_logits(reference, logits).top1_agreement
    ok = [f for f in facts if "agreement" in f and f["agreement"] >= gate]
    measured = "; ".join(
        f"{f['backend']} {f['precision']} {f['p50_ms']:.2f} ms, agreement {f['agreement']:.3f}"
        for f in facts
        if "agreement" in f
    )
    if not ok:
        return Choice(
            None, None, None, f"probe found no candidate passing agreement ≥ {gate}: {measured}"
        )
    best = min(ok, key=lambda f: f["p50_ms"])
    target = onnx_variant_path(fp32, best["precision"], "cpu", best["backend"])
    reason = (
        f"probe on load: {best['backend']} {best['precision']} ({target.name}) fastest with "
        f"top-1 agreement ≥ {gate} vs ONNX Runtime FP32 on {pairs} held-out synthetic pairs "
        f"(batch 1, median of {iters} runs: {measured})"
    )
    return Choice(best["backend"], best["precision"], target, reason, facts=facts, device="cpu")
