"""Target build profiles → :class:`EngineOptions`.

The profiles ship as package data (``mmnet_edge/export/targets/*.toml``, also reachable as
the repository's top-level ``export/profiles``) and are found with ``importlib.resources``.
"""

from __future__ import annotations

import sys
from dataclasses import fields
from importlib import resources
from pathlib import Path
from typing import Any

from mmnet_edge.errors import ExportError
from mmnet_edge.export.engine_options import EngineOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PROFILE_PACKAGE = "mmnet_edge.export"
PROFILE_DIR = "targets"


def list_profiles() -> dict[str, Path]:
    """Profile name → file, from the package data."""
    root = resources.files(PROFILE_PACKAGE) / PROFILE_DIR
    found: dict[str, Path] = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            found[entry.name[: -len(".toml")]] = Path(str(entry))
    return found


def load_profile(name_or_path: str) -> tuple[dict[str, Any], EngineOptions]:
    """Read a profile by name (``jetson-orin-nano``) or path; returns (raw, options)."""
    path = Path(name_or_path)
    if not path.suffix == ".toml":
        profiles = list_profiles()
        if name_or_path not in profiles:
            raise ExportError(
                f"unknown profile {name_or_path!r}; available: {', '.join(profiles) or 'none'} "
                "(or pass a path to a .toml file)"
            )
        path = profiles[name_or_path]
    if not path.is_file():
        raise ExportError(f"profile file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ExportError(f"{path}: invalid TOML: {exc}") from exc
    allowed = {f.name for f in fields(EngineOptions)}
    settings = {k: v for k, v in raw.items() if k != "description"}
    unknown = set(settings) - allowed
    if unknown:
        raise ExportError(f"{path}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    if "batch" in settings:
        settings["batch"] = tuple(int(b) for b in settings["batch"])
    if "timing_cache_dir" in settings:
        settings["timing_cache_dir"] = Path(settings["timing_cache_dir"])
    opts = EngineOptions(**settings)
    opts.validate()
    return raw, opts
