"""Small ONNX graph utilities shared by the FP16 and INT8 converters (no onnx import here)."""

from __future__ import annotations

from typing import Any

from mmnet_edge.errors import ExportError


def topological_sort(graph: Any) -> None:
    """Reorder ``graph.node`` so every input is produced before use (in place)."""
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending = list(graph.node)
    ordered: list[Any] = []
    while pending:
        progressed = False
        rest = []
        for node in pending:
            if all(i in available for i in node.input):
                ordered.append(node)
                available.update(node.output)
                progressed = True
            else:
                rest.append(node)
        if not progressed:
            raise ExportError(f"graph has a cycle or dangling input near node {rest[0].name!r}")
        pending = rest
    del graph.node[:]
    graph.node.extend(ordered)
