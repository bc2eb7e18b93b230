#!/usr/bin/env python3
"""Extract TensorRT's Python API as ``Class.member`` pairs, per version, as test data.

The lists under ``tests/data/tensorrt_names/<version>.txt`` let a CPU-only test check
that mmnet-edge calls no TensorRT member missing from a supported version unless it
guards the call with feature detection (``tests/test_tensorrt_api_guards.py``).

Source: the pybind11 bindings in github.com/NVIDIA/TensorRT, read at each tag (no
TensorRT install needed). From ``python/src/**/*.cpp`` the script collects

* ``py::class_<T, Bases...>(scope, "Name")`` / ``py::enum_<T>(scope, "Name")`` → the
  class ``Name`` (``tensorrt.Name`` when ``scope`` is the module, ``Outer.Name`` when it is
  another binding), including ``py::class_<...> var{m, "Name"}`` declarations;
* the chained ``.def("m"``, ``.def_property*("m"``, ``.def_readwrite/readonly("m"``,
  ``.def_static("m"`` → ``Name.m``; ``.value("V"`` → ``Name.V`` (and ``Outer.V`` after
  ``.export_values()``), also on later ``var.def(...)`` statements;
* members inherited from bound base classes (``py::class_<Logger, ILogger>``);
* ``m.def("f"`` → ``tensorrt.f``; and from ``python/packaging/bindings_wheel/tensorrt/
  __init__.py`` the pure-Python module functions and ``__version__``.

Preprocessor conditionals are ignored (a member behind ``#if`` is listed), which can only
make the lists more permissive. Lists committed in this repository:

    8.6.txt    tag v8.6.1   a25ca8bba2a164179046afc2f5d7f478e280f8c0  (JetPack 5 line)
    10.3.txt   tag v10.3.0  c5b9de37f7ef9034e2efc621c664145c7c12436e  (JetPack 6)
    10.16.txt  tag v10.16   52399f555c2f80cb690a4a558b604e1a5f227e7c  (newest 10.x)
    11.1.txt   tag v11.1    82d1dca801c8318a5605399d5240780d0679e4e1  (newest 11.x source)

Usage (``REPO`` is a clone of NVIDIA/TensorRT with its tags):

    python scripts/extract_trt_names.py REPO v8.6.1=8.6 v10.3.0=10.3 v10.16=10.16 v11.1=11.1
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "tensorrt_names"
MEMBER_DEFS = {
    "def",
    "def_static",
    "def_property",
    "def_property_readonly",
    "def_property_static",
    "def_property_readonly_static",
    "def_readwrite",
    "def_readonly",
    "def_readwrite_static",
    "def_readonly_static",
    "value",
}
START = re.compile(r"py::(class_|enum_)\s*<")
IDENT = re.compile(r"[A-Za-z_]\w*")
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass
class Binding:
    cpp: str
    bases: list[str]
    scope: str
    name: str
    var: str | None
    members: set[str] = field(default_factory=set)
    exported: set[str] = field(default_factory=set)  # enum values pushed to the scope


def strip_comments(src: str) -> str:
    """C++ source without comments (string and char literals kept intact)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i : j + 1])
            i = j + 1
        elif src.startswith("//", i):
            while i < n and src[i] != "\n":
                i += 1
        elif src.startswith("/*", i):
            end = src.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def balanced(src: str, i: int, open_: str, close: str) -> int:
    """Index just past the bracket closing the one at ``src[i]``."""
    depth, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            i = j + 1
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unbalanced {open_!r} at {i}")


def split_top(args: str) -> list[str]:
    """Split on commas outside brackets, strings and template arguments."""
    parts, depth, cur, i = [], 0, [], 0
    while i < len(args):
        c = args[i]
        if c in "\"'":
            j = i + 1
            while j < len(args) and args[j] != c:
                j += 2 if args[j] == "\\" else 1
            cur.append(args[i : j + 1])
            i = j + 1
            continue
        if c in "([{<":
            depth += 1
        elif c in ")]}>":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def skip_ws(src: str, i: int) -> int:
    while i < len(src) and src[i].isspace():
        i += 1
    return i


def parse_chain(src: str, i: int, b: Binding) -> None:
    """Collect ``.def("x", …)``-style members chained from ``src[i]`` into ``b``."""
    while True:
        i = skip_ws(src, i)
        if i >= len(src) or src[i] != ".":
            return
        m = IDENT.match(src, skip_ws(src, i + 1))
        if not m:
            return
        i = skip_ws(src, m.end())
        if i >= len(src) or src[i] != "(":
            return
        end = balanced(src, i, "(", ")")
        args = split_top(src[i + 1 : end - 1])
        if m.group() in MEMBER_DEFS and args:
            s = STRING.fullmatch(args[0])
            if s:
                b.members.add(s.group(1))
                if m.group() == "value":
                    b.exported.add(s.group(1))
        elif m.group() == "export_values":
            b.exported.add("*")
        i = end


def parse_bindings(src: str) -> tuple[list[Binding], set[str]]:
    """Class/enum bindings and module-level functions (``m.def``) of one source file."""
    src = strip_comments(src)
    found: list[Binding] = []
    for m in START.finditer(src):
        lt = m.end() - 1
        depth, j = 0, lt
        while True:  # template argument list: angle brackets only
            if src[j] == "<":
                depth += 1
            elif src[j] == ">":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        targs = split_top(src[lt + 1 : j])
        k = skip_ws(src, j + 1)
        var = None
        v = IDENT.match(src, k)
        if v:
            var, k = v.group(), skip_ws(src, v.end())
        if k >= len(src) or src[k] not in "({":
            continue  # a type mention, not a binding
        close = ")" if src[k] == "(" else "}"
        end = balanced(src, k, src[k], close)
        args = split_top(src[k + 1 : end - 1])
        if len(args) < 2 or not STRING.fullmatch(args[1]):
            continue
        b = Binding(
            cpp=targs[0].split("::")[-1].strip(),
            bases=[t.split("::")[-1].strip() for t in targs[1:]],
            scope=args[0],
            name=STRING.fullmatch(args[1]).group(1),  # type: ignore[union-attr]
            var=var,
        )
        parse_chain(src, end, b)
        if var:  # later `var.def(...)...;` statements
            for use in re.finditer(rf"\b{re.escape(var)}\s*(?=\.)", src[end:]):
                parse_chain(src, end + use.end(), b)
        found.append(b)
    module_funcs = set(re.findall(r'\bm\s*\.\s*def\s*\(\s*"(\w+)"', src))
    return found, module_funcs


def qualified(bindings: list[Binding]) -> dict[int, str]:
    """Python-qualified name of each binding (``ILogger.Severity``)."""
    by_var = {b.var: b for b in bindings if b.var}
    names: dict[int, str] = {}

    def qn(b: Binding) -> str:
        if id(b) not in names:
            outer = by_var.get(b.scope)
            names[id(b)] = f"{qn(outer)}.{b.name}" if outer is not None else b.name
        return names[id(b)]

    for b in bindings:
        qn(b)
    return names


def pairs_for(sources: dict[str, str], init_py: str | None) -> set[str]:
    bindings: list[Binding] = []
    module_funcs: set[str] = set()
    for text in sources.values():
        bs, fs = parse_bindings(text)
        bindings += bs
        module_funcs |= fs
    qnames = qualified(bindings)
    by_var = {b.var: b for b in bindings if b.var}
    by_cpp = {b.cpp: b for b in bindings}
    members: dict[str, set[str]] = {}
    for b in bindings:
        members.setdefault(qnames[id(b)], set()).update(b.members)
    for b in bindings:  # nested bindings are attributes of their scope
        outer = by_var.get(b.scope)
        if outer is not None:
            members[qnames[id(outer)]].add(b.name)
            if b.exported:
                vals = b.members if "*" in b.exported else b.exported
                members[qnames[id(outer)]].update(vals)

    def inherited(b: Binding, seen: frozenset[str] = frozenset()) -> set[str]:
        out = set(members[qnames[id(b)]])
        for base in b.bases:
            parent = by_cpp.get(base)
            if parent is not None and parent.cpp not in seen and parent is not b:
                out |= inherited(parent, seen | {b.cpp})
        return out

    pairs = set()
    for b in bindings:
        q = qnames[id(b)]
        if b.scope == "m":
            pairs.add(f"tensorrt.{q}")
        for member in inherited(b):
            if not (member.startswith("__") and member.endswith("__")):
                pairs.add(f"{q}.{member}")
    pairs |= {f"tensorrt.{f}" for f in module_funcs}
    if init_py:
        pairs |= {f"tensorrt.{f}" for f in re.findall(r"^def ([a-z]\w*)", init_py, re.M)}
        if re.search(r"^__version__\s*=", init_py, re.M):
            pairs.add("tensorrt.__version__")
    return pairs


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def pairs_at(repo: Path, ref: str) -> set[str]:
    files = git(repo, "ls-tree", "-r", "--name-only", ref, "python/src").split()
    sources = {f: git(repo, "show", f"{ref}:{f}") for f in files if f.endswith(".cpp")}
    init = "python/packaging/bindings_wheel/tensorrt/__init__.py"
    try:
        init_py = git(repo, "show", f"{ref}:{init}")
    except subprocess.CalledProcessError:
        init_py = None
    return pairs_for(sources, init_py)


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    repo = Path(argv[0])
    OUT.mkdir(parents=True, exist_ok=True)
    for spec in argv[1:]:
        ref, _, version = spec.partition("=")
        commit = git(repo, "rev-parse", f"{ref}^{{commit}}").strip()
        pairs = pairs_at(repo, ref)
        target = OUT / f"{version}.txt"
        target.write_text(
            f"# TensorRT {version} Python API as Class.member pairs, from NVIDIA/TensorRT "
            f"python/src at {ref} ({commit}) by scripts/extract_trt_names.py\n"
            + "\n".join(sorted(pairs))
            + "\n"
        )
        print(f"{target}: {len(pairs)} pairs")


if __name__ == "__main__":
    main(sys.argv[1:])
