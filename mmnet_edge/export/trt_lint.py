"""Lint a TensorRT-bound ONNX graph against onnx-tensorrt's operator tables.

The tables (``data/onnx_trt_ops_<version>.json``) are extracted from onnx-tensorrt's
``docs/operators.md`` per release branch by ``scripts/extract_onnx_trt_ops.py``. For each
requested TensorRT version the lint reports:

* operators missing from the table or marked unsupported (and non-ONNX domains);
* data inputs (input 0; every input of Concat/Sum/Max/Min/Mean; inputs 1–2 of Where)
  whose element type (from ONNX shape inference) the table does not allow,
  after the narrowing the parser does itself (8.6: INT64 → INT32, DOUBLE → FLOAT) — this
  includes ``DequantizeLinear`` on INT32, the bias dequantization ONNX Runtime writes with
  ``QuantizeBias=True``, which no TensorRT parses (NVIDIA/TensorRT#4542, onnx-tensorrt#850);
* ``QuantizeLinear``/``DequantizeLinear`` zero points that are not constant zeros;
* ``Resize`` with ``antialias=1``;
* an opset outside the version's documented range.

Only ``onnx`` (imported lazily: it is an export-time dependency), numpy and the stdlib.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.errors import ExportError

DATA = Path(__file__).parent / "data"
DEFAULT_VERSIONS = ("8.6", "10")
ONNX_DOMAINS = ("", "ai.onnx")
VARIADIC = {"Concat", "Sum", "Max", "Min", "Mean"}  # every input is a data input
DATA_INPUTS = {"Where": (1, 2)}  # input 0 is the condition
QDQ = {"QuantizeLinear", "DequantizeLinear"}


@dataclass(frozen=True)
class LintFinding:
    """One incompatibility of a node (``node`` is ``"<graph>"`` for model-level ones)."""

    version: str
    node: str
    op: str
    message: str
    severity: str = "error"  # "error": the parser rejects it; "warning": not verifiable

    def __str__(self) -> str:
        return f"TensorRT {self.version}: {self.node} ({self.op}): {self.message}"


@dataclass(frozen=True)
class OpTable:
    version: str
    opset_min: int | None
    opset_max: int
    casts: dict[str, str]
    ops: dict[str, dict[str, Any]]
    source: dict[str, str]


def available_versions() -> list[str]:
    """TensorRT versions with a table, oldest first (``["8.6", "10.1"]``)."""
    found = [p.stem.removeprefix("onnx_trt_ops_") for p in DATA.glob("onnx_trt_ops_*.json")]
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


@cache
def load_table(version: str) -> OpTable:
    """The table of ``version``; ``"10"`` means the newest 10.x table."""
    have = available_versions()
    matches = [v for v in have if v == version or v.startswith(f"{version}.")]
    if not matches:
        raise ExportError(
            f"no onnx-tensorrt operator table for TensorRT {version!r} (have {have}); add one "
            "with scripts/extract_onnx_trt_ops.py"
        )
    chosen = matches[-1]
    raw = json.loads((DATA / f"onnx_trt_ops_{chosen}.json").read_text())
    return OpTable(
        chosen,
        raw["opset"]["min"],
        raw["opset"]["max"],
        dict(raw.get("casts", {})),
        raw["ops"],
        raw.get("source", {}),
    )


def _load(path_or_model: Any) -> Any:
    import onnx

    if isinstance(path_or_model, onnx.ModelProto):
        return path_or_model
    path = Path(path_or_model)
    if not path.is_file():
        raise ExportError(f"ONNX file not found: {path}")
    return onnx.load(str(path))


def _element_types(model: Any) -> tuple[dict[str, str], str | None]:
    """Element type name of every value (after shape inference) and an inference error."""
    import onnx

    error = None
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception as exc:  # noqa: BLE001 - the lint then works from declared types only
        inferred, error = model, f"ONNX shape inference failed ({exc}); types unchecked"
    g = inferred.graph
    name = onnx.TensorProto.DataType.Name
    types: dict[str, str] = {}
    for vi in [*g.input, *g.output, *g.value_info]:
        if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type:
            types[vi.name] = name(vi.type.tensor_type.elem_type)
    for init in g.initializer:
        types[init.name] = name(init.data_type)
    for node in g.node:
        if node.op_type == "Constant" and node.output and node.output[0] not in types:
            for a in node.attribute:
                if a.name == "value":
                    types[node.output[0]] = name(a.t.data_type)
    return types, error


def _constants(model: Any) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    out = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    out[node.output[0]] = numpy_helper.to_array(a.t)
    return out


def _nodes(graph: Any) -> list[Any]:
    """Nodes of ``graph`` and of its subgraphs (If/Loop/Scan bodies)."""
    out = []
    for node in graph.node:
        out.append(node)
        for a in node.attribute:
            if a.g.node:
                out += _nodes(a.g)
            for sub in a.graphs:
                out += _nodes(sub)
    return out


def _data_inputs(node: Any) -> list[str]:
    if node.op_type in VARIADIC:
        names = list(node.input)
    else:
        idx = DATA_INPUTS.get(node.op_type, (0,))
        names = [node.input[i] for i in idx if i < len(node.input)]
    return [n for n in names if n]


def _attr(node: Any, name: str) -> Any:
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return None


def _opset(model: Any) -> int | None:
    versions = [o.version for o in model.opset_import if o.domain in ONNX_DOMAINS]
    return max(versions) if versions else None


def lint_onnx(
    path_or_model: Any, versions: tuple[str, ...] | list[str] = DEFAULT_VERSIONS
) -> list[LintFinding]:
    """Everything in an ONNX file (or ``onnx.ModelProto``) TensorRT's parser would reject.

    ``versions`` are TensorRT versions with a table (``"8.6"``, ``"10"`` = newest 10.x).
    An empty list means the graph passes every table.
    """
    model = _load(path_or_model)
    types, inference_error = _element_types(model)
    consts = _constants(model)
    opset = _opset(model)
    nodes = _nodes(model.graph)
    labels = {id(n): n.name or f"{n.op_type}#{i}" for i, n in enumerate(nodes)}
    findings: list[LintFinding] = []
    for version in versions:
        table = load_table(version)
        v = table.version

        def add(node: Any, msg: str, severity: str = "error", *, _v: str = v) -> None:
            if node is None:
                findings.append(LintFinding(_v, "<graph>", "-", msg, severity))
            else:
                label = labels[id(node)]
                findings.append(LintFinding(_v, label, node.op_type, msg, severity))

        if inference_error:
            add(None, inference_error, "warning")
        if opset is None:
            add(None, "the model imports no ONNX opset")
        elif opset > table.opset_max or (table.opset_min and opset < table.opset_min):
            lo = table.opset_min if table.opset_min is not None else "?"
            add(
                None,
                f"opset {opset} is outside TensorRT {v}'s supported range {lo}–"
                f"{table.opset_max}: export with an opset in that range",
            )
        for node in nodes:
            if node.domain not in ONNX_DOMAINS:
                add(node, f"operator of domain {node.domain!r} needs a TensorRT plugin")
                continue
            row = table.ops.get(node.op_type)
            if row is None or not row["supported"]:
                how = "marked unsupported" if row else "absent"
                add(node, f"{node.op_type} is {how} in onnx-tensorrt's operator table")
                continue
            allowed = set(row["types"])
            for name in _data_inputs(node) if allowed else []:
                t = types.get(name)
                if t is None:
                    add(node, f"element type of input {name!r} is unknown", "warning")
                elif t not in allowed and table.casts.get(t) not in allowed:
                    msg = (
                        f"input {name!r} is {t}; TensorRT {v} accepts {node.op_type} on "
                        f"{', '.join(sorted(allowed))}"
                    )
                    if node.op_type == "DequantizeLinear" and t == "INT32":
                        msg += (
                            " (an INT32 bias dequantization, as ONNX Runtime writes with "
                            "QuantizeBias=True: quantize without it — NVIDIA/TensorRT#4542, "
                            "onnx-tensorrt#850)"
                        )
                    add(node, msg)
            if node.op_type in QDQ and len(node.input) > 2 and node.input[2]:
                zp = consts.get(node.input[2])
                if zp is None:
                    add(node, f"zero point {node.input[2]!r} is not a constant; it must be 0")
                elif np.any(zp != 0):
                    add(
                        node,
                        f"zero point {node.input[2]!r} is not 0; TensorRT needs symmetric "
                        "quantization (all zero points 0)",
                    )
            if node.op_type == "Resize" and _attr(node, "antialias") == 1:
                add(node, "Resize with antialias=1 is not supported: export without antialias")
    return findings


def errors(findings: list[LintFinding]) -> list[LintFinding]:
    return [f for f in findings if f.severity == "error"]


def raise_on_findings(findings: list[LintFinding], *, include_warnings: bool = False) -> None:
    """ExportError naming every offending node (warnings too with ``include_warnings``)."""
    bad = findings if include_warnings else errors(findings)
    if bad:
        lines = "\n  ".join(str(f) for f in bad)
        raise ExportError(
            f"the ONNX graph would not parse in TensorRT ({len(bad)} finding(s)):\n  {lines}\n"
            "Fix the export (opset, precision variant, quantization settings) or drop the "
            "TensorRT versions it need not run on."
        )


def warning_lines(findings: list[LintFinding]) -> list[str]:
    """One human-readable line per finding, for logging at export time."""
    return [f"[{f.severity}] {f}" for f in findings]
