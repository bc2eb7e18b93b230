"""Static check: TensorRT attributes missing from a supported version are feature-guarded.

Name lists (tests/data/tensorrt_names/*.txt) are extracted from each version's Python
bindings wheel by scripts/extract_trt_names.py: 8.6 (JetPack 5), 10.3 (JetPack 6), the
newest 10.x and 11.x. An attribute present in some but not all of them may only be used
under an ``if`` whose test calls ``hasattr``/``getattr`` or reads a detected feature
(``feats.*``), so that every supported version takes a path that exists.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "tests" / "data" / "tensorrt_names"
SUPPORTED = ("8.6", "10.3", "10.16", "11.4")


def load_names() -> dict[str, set[str]]:
    out = {}
    for v in SUPPORTED:
        lines = (NAMES / f"{v}.txt").read_text().splitlines()
        out[v] = {ln for ln in lines if ln and not ln.startswith("#")}
    return out


def modules_using_tensorrt() -> list[Path]:
    found = []
    for path in sorted((ROOT / "mmnet_edge").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "tensorrt" for a in node.names):
                found.append(path)
                break
            if isinstance(node, ast.ImportFrom) and node.module == "tensorrt":
                found.append(path)
                break
            if isinstance(node, ast.Name) and node.id == "import_tensorrt":
                found.append(path)  # gets the module through mmnet_edge's lazy importer
                break
    return found


def _is_guard(test: ast.AST) -> bool:
    for node in ast.walk(test):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("hasattr", "getattr"):
                return True
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in ("feats", "features", "self_features"):
                return True
    return False


# Names that hold TensorRT modules/objects in mmnet-edge code.
TRT_OBJECTS = {
    "trt",
    "tensorrt",
    "builder",
    "network",
    "config",
    "parser",
    "profile",
    "engine",
    "context",
    "runtime",
    "logger",
    "calibrator",
    "_engine",
    "_context",
    "_runtime",
}


def chain(node: ast.AST) -> list[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def touches_tensorrt(node: ast.Attribute) -> bool:
    return any(p in TRT_OBJECTS for p in chain(node)[:-1])


def unguarded_accesses(path: Path, partial: set[str]) -> list[str]:
    tree = ast.parse(path.read_text())
    bad: list[str] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, (ast.If, ast.IfExp, ast.While)):
            g = guarded or _is_guard(node.test)
            visit(node.test, guarded)
            for child in node.body if isinstance(node.body, list) else [node.body]:
                visit(child, g)
            for child in node.orelse if isinstance(node.orelse, list) else [node.orelse]:
                visit(child, g)
            return
        if (
            isinstance(node, ast.Attribute)
            and node.attr in partial
            and not node.attr.startswith("__")
            and touches_tensorrt(node)
            and not guarded
        ):
            bad.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return bad


def test_name_lists_cover_the_version_split():
    names = load_names()
    assert "STRONGLY_TYPED" not in names["8.6"] and "STRONGLY_TYPED" in names["11.4"]
    assert "IInt8EntropyCalibrator2" in names["10.3"]
    assert "IInt8EntropyCalibrator2" not in names["11.4"]
    assert "execute_async_v3" in names["8.6"] and "execute_async_v3" in names["11.4"]


def test_modules_touch_no_unguarded_version_specific_attribute():
    names = load_names()
    union = set().union(*names.values())
    common = set.intersection(*names.values())
    partial = union - common
    modules = modules_using_tensorrt()
    if not modules:
        pytest.fail("no module imports tensorrt: the export/runtime TensorRT paths are missing")
    names_found = {m.name for m in modules}
    assert {"tensorrt.py", "trt_runner.py", "legacy.py"} <= names_found, names_found
    bad = [b for m in modules for b in unguarded_accesses(m, partial)]
    assert bad == [], (
        "unguarded TensorRT attributes absent from a supported version:\n" + "\n".join(bad)
    )
