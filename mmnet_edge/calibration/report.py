"""Accuracy report: FP32 vs FP16 vs INT8 on a held-out set, with per-layer sensitivity."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.artifacts.files import atomic_write_text
from mmnet_edge.artifacts.formats import INT8_TARGETS, split_name
from mmnet_edge.artifacts.gate_record import recorded_gate
from mmnet_edge.calibration.dataset import CalibrationSet, load_calibration_set
from mmnet_edge.compare import collect_logits, compare_logits
from mmnet_edge.errors import CalibrationError
from mmnet_edge.metrics import compute_metrics

# Node-name prefixes of MMNet's blocks in the exported graph (torch module paths).
# "^" anchors at the start of the node name ("/pc/blocks.0/" is not "/blocks.0/")
BLOCK_GROUPS = (
    "^/stem/",
    "^/conv1/",
    "^/blocks.0/",
    "^/blocks.1/",
    "^/blocks.2/",
    "^/blocks.3/",
    "^/pc/",
    "^/head/",
)


def _logits(model: Path, cs: CalibrationSet, batch: int = 16) -> np.ndarray:
    """Logits of an ONNX file on ONNX Runtime CPU over the whole set."""
    from mmnet_edge.runtime.ort_runner import OrtRunner

    with OrtRunner(model, device="cpu") as runner:
        return collect_logits(runner, cs.batches(batch)).astype(np.float64)


def compare(
    ref_logits: np.ndarray,
    logits: np.ndarray,
    labels: np.ndarray | None,
    class_names: tuple[str, ...],
) -> dict[str, Any]:
    """Agreement and probability error vs the reference (the one comparator); accuracy,
    UF1 and UAR when labels exist."""
    rep = compare_logits(ref_logits, logits, class_names)
    out: dict[str, Any] = {
        "n": rep.n,
        "top1_agreement": rep.top1_agreement,
        "max_prob_error": rep.max_prob_error,
        "mean_prob_error": rep.mean_prob_error,
        "max_abs_logit_error": rep.max_abs_error,
        "per_class_agreement": rep.per_class,
    }
    if labels is not None:
        m = compute_metrics(labels.tolist(), logits.argmax(-1).tolist(), list(class_names))
        out.update(
            accuracy=m.accuracy,
            uf1=m.uf1,
            uar=m.uar,
            per_class_f1={c.name: c.f1 for c in m.per_class},
        )
    return out


def accuracy_report(
    fp32_onnx: Path | str,
    variants: Mapping[str, Path | str],
    data: CalibrationSet | Path | str,
    sensitivity: bool = True,
    calib: CalibrationSet | Path | str | None = None,
) -> dict[str, Any]:
    """FP32 vs each variant on ``data`` (held-out pairs; labels → accuracy/UF1/UAR deltas).

    With ``sensitivity`` (needs ``calib``, else ``data`` is used for calibration too), each
    block group is quantized alone (TensorRT-target settings) and its agreement drop is
    reported, to explain where an INT8 drop comes from.
    """
    cs = data if isinstance(data, CalibrationSet) else load_calibration_set(data)
    labels = cs.labels if cs.has_labels else None
    ref = _logits(Path(fp32_onnx), cs)
    report: dict[str, Any] = {
        "data": cs.manifest.get("source"),
        "data_sha256": cs.manifest.get("sha256"),
        "n": len(cs),
        "class_names": list(cs.class_names),
        "reference": str(fp32_onnx),
        "fp32": compare(ref, ref, labels, cs.class_names),
        "variants": {},
    }
    for name, path in variants.items():
        if not Path(path).is_file():
            report["variants"][name] = {"status": "missing", "path": str(path)}
            continue
        v = compare(ref, _logits(Path(path), cs), labels, cs.class_names)
        v["path"] = str(path)
        gate = recorded_gate(path)  # export's verdict on the independent gate sets
        if gate is not None:
            v["gate"] = gate
        if labels is not None:
            base = report["fp32"]
            for k in ("accuracy", "uf1", "uar"):
                v[f"{k}_delta"] = v[k] - base[k]
            v["per_class_f1_delta"] = {
                c: v["per_class_f1"][c] - base["per_class_f1"][c] for c in base["per_class_f1"]
            }
        report["variants"][name] = v
    if sensitivity:
        report["sensitivity"] = layer_sensitivity(Path(fp32_onnx), calib or cs, cs, ref)
    return report


def layer_sensitivity(
    fp32_onnx: Path, calib: CalibrationSet | Path | str, data: CalibrationSet, ref: np.ndarray
) -> list[dict[str, Any]]:
    """Quantize one block group at a time (TensorRT target) → agreement with FP32."""
    from mmnet_edge.calibration.quantize import quantize_target

    cal = calib if isinstance(calib, CalibrationSet) else load_calibration_set(calib)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for group in BLOCK_GROUPS:
            out = Path(tmp) / "one.onnx"
            quantize_target(
                fp32_onnx,
                cal,
                out,
                "tensorrt",
                method="minmax",
                keep_float=(),
                include_only=(group,),
                limit=64,
            )
            rep = compare_logits(ref, _logits(out, data))
            rows.append(
                {
                    "group": group.lstrip("^").strip("/"),
                    "top1_agreement": rep.top1_agreement,
                    "max_prob_error": rep.max_prob_error,
                }
            )
    return rows


def int8_variants(fp32_onnx: Path | str, given: Sequence[Path | str] = ()) -> dict[str, Path]:
    """Name → path of the INT8 models to report: ``given``, else those beside ``fp32_onnx``
    (``model.int8.onnx``, ``model.int8-cpu.onnx``, ``model.int8-openvino.onnx``) that exist."""
    fp32_onnx = Path(fp32_onnx)
    beside = tuple(t.path_for(fp32_onnx) for t in INT8_TARGETS)
    paths = [Path(p) for p in given] or [p for p in beside if p.exists()]
    out: dict[str, Path] = {}
    for p in paths:
        name = split_name(p)[1].lstrip(".")  # "int8-cpu" for model.int8-cpu.onnx
        out[name if name.startswith("int8") and name not in out else f"int8:{p}"] = p
    return out


def gate_all(report: Mapping[str, Any], variants: Sequence[str], max_uf1_drop: float) -> None:
    """:func:`gate` every INT8 variant; no variant at all is a failure, not a pass."""
    if not variants:
        raise CalibrationError(
            f"--max-uf1-drop {max_uf1_drop}: there is no INT8 model to gate (none given with "
            "--int8 and none beside --fp32); export one with `mmnet-edge export --int8` first"
        )
    failed = []
    for name in variants:
        try:
            gate(report, name, max_uf1_drop)
        except CalibrationError as exc:
            failed.append(str(exc))
    if failed:
        raise CalibrationError("; ".join(failed))


@dataclass
class ReportRun:
    """What :func:`run_report` produced: the report, its Markdown, the files written."""

    report: dict[str, Any]
    markdown: str
    written: list[Path]
    gate_failure: str | None = None  #: why the UF1 gate failed (None: passed or not asked)

    def check(self) -> None:
        """Raise :class:`CalibrationError` if the UF1 gate failed."""
        if self.gate_failure:
            raise CalibrationError(self.gate_failure)


def run_report(
    fp32_onnx: Path | str,
    data: CalibrationSet | Path | str,
    *,
    int8: Sequence[Path | str] = (),
    fp16: Path | str | None = None,
    calib: CalibrationSet | Path | str | None = None,
    sensitivity: bool = True,
    json_path: Path | str | None = None,
    md_path: Path | str | None = None,
    max_uf1_drop: float | None = None,
) -> ReportRun:
    """FP32 vs FP16/INT8 report, written atomically where asked, then gated.

    With ``max_uf1_drop`` the gate runs after the files are written (so a failing run
    still leaves its evidence); :meth:`ReportRun.check` raises when any INT8 model loses
    more UF1 — or when there is no INT8 model to gate.
    """
    if max_uf1_drop is not None and not (0 <= max_uf1_drop <= 1):
        raise CalibrationError(f"max UF1 drop must be in [0, 1], got {max_uf1_drop}")
    variants: dict[str, Path | str] = dict(int8_variants(fp32_onnx, int8))
    int8_names = list(variants)
    if fp16 is not None:
        variants["fp16"] = fp16
    rep = accuracy_report(fp32_onnx, variants, data, sensitivity=sensitivity, calib=calib)
    md = to_markdown(rep)
    written = []
    if json_path is not None:
        written.append(atomic_write_text(json_path, json.dumps(rep, indent=2, sort_keys=True)))
    if md_path is not None:
        written.append(atomic_write_text(md_path, md))
    failure = None
    if max_uf1_drop is not None:
        try:
            gate_all(rep, int8_names, max_uf1_drop)
        except CalibrationError as exc:
            failure = str(exc)
    return ReportRun(rep, md, written, failure)


def gate(report: Mapping[str, Any], variant: str, max_uf1_drop: float) -> None:
    """Raise CalibrationError when ``variant``'s UF1 falls more than ``max_uf1_drop``."""
    v = report["variants"].get(variant)
    if v is None or "uf1_delta" not in v:
        raise CalibrationError(f"no UF1 for {variant!r}: the held-out set needs labels")
    if -v["uf1_delta"] > max_uf1_drop:
        raise CalibrationError(
            f"{variant} loses {-v['uf1_delta']:.3f} UF1 vs FP32 (bar {max_uf1_drop}); improve "
            "the calibration set, try --calib-method, or keep more layers in float"
        )


def to_markdown(report: Mapping[str, Any]) -> str:
    lines = [
        f"# INT8 / FP16 accuracy report ({report['n']} held-out pairs: {report['data']})",
        "",
        "| model | top-1 agreement | max prob err | mean prob err | accuracy | UF1 | UAR | Δ UF1 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def fmt(v: Any) -> str:
        return "—" if v is None else f"{v:.3f}"

    rows = [("fp32", report["fp32"]), *report["variants"].items()]
    for name, v in rows:
        if v.get("status") == "missing":
            lines.append(f"| {name} | missing | | | | | | |")
            continue
        lines.append(
            f"| {name} | {fmt(v['top1_agreement'])} | {fmt(v['max_prob_error'])} | "
            f"{fmt(v['mean_prob_error'])} | {fmt(v.get('accuracy'))} | "
            f"{fmt(v.get('uf1'))} | {fmt(v.get('uar'))} | {fmt(v.get('uf1_delta'))} |"
        )
    per = [
        (n, v["per_class_f1_delta"])
        for n, v in report["variants"].items()
        if "per_class_f1_delta" in v
    ]
    if per:
        classes = list(per[0][1])
        lines += [
            "",
            "Per-class F1 delta vs FP32:",
            "",
            "| model | " + " | ".join(classes) + " |",
            "|---|" + "---:|" * len(classes),
        ]
        for n, d in per:
            lines.append(f"| {n} | " + " | ".join(f"{d[c]:+.3f}" for c in classes) + " |")
    gated = [(n, v["gate"]) for n, v in report["variants"].items() if v.get("gate")]
    if gated:
        names = [st["name"] for st in gated[0][1]["sets"]]
        lines += [
            "",
            "Export gate: top-1 agreement with FP32 on each independent held-out set "
            f"(≥ {gated[0][1]['gate']} and UF1 drop ≤ {gated[0][1]['max_uf1_drop']} on every "
            "set to be recommended):",
            "",
            "| model | " + " | ".join(names) + " | worst | verdict |",
            "|---|" + "---:|" * len(names) + "---:|---|",
        ]
        for n, g in gated:
            by = {st["name"]: st["agreement"] for st in g["sets"]}
            lines.append(
                f"| {n} | "
                + " | ".join(fmt(by.get(name)) for name in names)
                + f" | {fmt(g['worst_agreement'])} | "
                + ("passed" if g["passed"] else "**failed: not recommended**")
                + " |"
            )
    if report.get("sensitivity"):
        lines += [
            "",
            "Per-layer sensitivity (only this group quantized, TensorRT target):",
            "",
            "| group | top-1 agreement | max prob err |",
            "|---|---:|---:|",
        ]
        for r in report["sensitivity"]:
            lines.append(
                f"| {r['group']} | {r['top1_agreement']:.3f} | {r['max_prob_error']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def write_report(report: Mapping[str, Any], stem: Path | str) -> tuple[Path, Path]:
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    js, md = stem.with_suffix(".json"), stem.with_suffix(".md")
    atomic_write_text(js, json.dumps(report, indent=2, sort_keys=True))
    atomic_write_text(md, to_markdown(report))
    return js, md
