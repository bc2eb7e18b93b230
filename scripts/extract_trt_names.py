#!/usr/bin/env python3
"""Extract the Python-visible TensorRT names of each supported version, as test data.

The ``tensorrt-bindings`` (8.6) / ``tensorrt-cu12-bindings`` (10.x, 11.x) wheels carry each
version's extension module; its strings include every name the Python API exposes. The
lists are committed under ``tests/data/tensorrt_names/`` so a test can check, without
TensorRT installed, that mmnet-edge touches no attribute missing from a supported version
unless it guards it with ``hasattr``/``getattr``.

    pip download --no-deps --only-binary=:all: --python-version 3.11 \
        --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 -d WHEELS \
        tensorrt-bindings==8.6.1 tensorrt-cu12-bindings==10.3.0 \
        tensorrt-cu12-bindings==10.16.1.11 tensorrt-cu12-bindings==11.4.0.106
    python scripts/extract_trt_names.py WHEELS/*.whl
"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "tensorrt_names"
IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]{1,80}")


def names_in_wheel(wheel: Path) -> set[str]:
    names: set[str] = set()
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if ".so" in info.filename or info.filename.endswith(".pyi"):
                names.update(
                    t
                    for t in (m.decode() for m in IDENT.findall(zf.read(info)))
                    if not t.startswith(("_Z", "_GLOBAL", "GLIBC")) and len(t) <= 48
                )
    return names


def main(wheels: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for w in map(Path, wheels):
        m = re.search(r"bindings-(\d+\.\d+\.\d+)", w.name)
        if not m:
            raise SystemExit(f"cannot read a version from {w.name}")
        version = ".".join(m.group(1).split(".")[:2])
        names = names_in_wheel(w)
        target = OUT / f"{version}.txt"
        target.write_text(
            f"# Python-visible identifiers of TensorRT {m.group(1)} (from {w.name})\n"
            + "\n".join(sorted(names))
            + "\n"
        )
        print(f"{target}: {len(names)} names")


if __name__ == "__main__":
    main(sys.argv[1:])
