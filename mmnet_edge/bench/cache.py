"""``mmnet-edge bench CHECKPOINT``: export the ONNX files the other backends need, once.

When a checkpoint is benchmarked without an ONNX file, :func:`prepare_models` exports the
FP32 ONNX model and (for INT8) both Q/DQ variants with :func:`mmnet_edge.export.export_model`
into ``<cache>/<first 16 hex of the checkpoint's SHA-256>/`` and says so; a later call
with the same checkpoint and calibration reuses them (``cache.json`` records what was
built from what). The cache root is ``--cache-dir``, else ``<mmnet-edge cache>/bench``
(``$MMNET_EDGE_CACHE_DIR``, else the user cache directory: :mod:`mmnet_edge.cache_dir`).
Without ``calib`` the INT8 files are calibrated on the built-in synthetic set — fine for
latency, and the agreement column shows what it costs.
The default method is ``minmax``: percentile calibration of the paper model on the 200-pair
synthetic set held > 22 GB (ONNX Runtime keeps every activation for the histograms) and
was killed by the OOM killer on a 23 GB machine.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmnet_edge.artifacts.formats import INT8_TARGETS, container_of
from mmnet_edge.artifacts.metadata_io import file_sha256

#: backends that need an ONNX file
ONNX_BACKENDS = ("onnxruntime", "openvino")
MANIFEST = "cache.json"


@dataclass
class CacheResult:
    """What :func:`prepare_models` did."""

    models: list[Path]
    directory: Path | None = None
    reused: bool = False
    written: list[Path] = field(default_factory=list)
    calibration: str | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory) if self.directory else None,
            "reused": self.reused,
            "files": [p.name for p in self.models if p.suffix == ".onnx"],
            "written": [p.name for p in self.written],
            "calibration": self.calibration,
            "message": self.message,
        }


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``cache_dir``, else ``<$MMNET_EDGE_CACHE_DIR or the user cache directory>/bench``."""
    from mmnet_edge.cache_dir import cache_dir as shared_cache_dir

    return Path(cache_dir) if cache_dir else shared_cache_dir("bench")


def _manifest(directory: Path) -> dict[str, Any]:
    try:
        return json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def prepare_models(
    models: Sequence[Path],
    backends: Sequence[str],
    precisions: Sequence[str],
    cache_dir: str | os.PathLike[str] | None = None,
    calib: str | os.PathLike[str] | None = None,
    calib_method: str = "minmax",
    on_message: Callable[[str], None] | None = None,
) -> CacheResult:
    """``models`` plus the cached ONNX exports of a lone checkpoint, when ONNX backends are
    asked for and no ONNX file was given (otherwise ``models`` unchanged)."""
    from mmnet_edge.runtime.backends import canonical_backend

    models = [Path(m) for m in models]
    kinds = [container_of(m) for m in models]
    wanted = {canonical_backend(b) for b in backends} & set(ONNX_BACKENDS)
    if "onnx" in kinds or "checkpoint" not in kinds or not wanted:
        return CacheResult(models)
    ckpt = models[kinds.index("checkpoint")]
    sha = file_sha256(ckpt)
    directory = cache_root(cache_dir) / sha[:16]
    int8 = "int8" in precisions
    calib_key = "synthetic" if calib is None else file_sha256(calib)
    calib_txt = (
        "the built-in SYNTHETIC set (no --calib given; pass --calib CALIB.npz for ranges from "
        "your camera)"
        if calib is None
        else f"{Path(calib).name}"
    )
    onnx = directory / "model.onnx"
    files = [onnx] + ([t.path_for(onnx) for t in INT8_TARGETS] if int8 else [])
    have = _manifest(directory)
    broken = [p.name for p in files if not _belongs(p, sha, onnx)] if have else []
    reusable = (
        have.get("checkpoint_sha256") == sha
        and not broken
        and (
            not int8
            or (have.get("calib") == calib_key and have.get("calib_method") == calib_method)
        )
    )
    names = ", ".join(p.name for p in files)
    say = on_message or (lambda _m: None)
    if broken and have.get("checkpoint_sha256") == sha:
        say(
            f"cached {', '.join(broken)} in {directory} missing, unreadable or not made from "
            f"{ckpt.name}: re-exporting"
        )
    if reusable:
        msg = f"using cached exports of {ckpt.name} (sha256 {sha[:16]}…) in {directory}: {names}"
        say(msg)
        return CacheResult(
            [*models, onnx], directory, True, [], have.get("calib_text") if int8 else None, msg
        )
    msg = (
        f"exporting {ckpt.name} (sha256 {sha[:16]}…) for {', '.join(sorted(wanted))} into "
        f"{directory}: {names}" + (f"; INT8 calibrated on {calib_txt}" if int8 else "")
    )
    say(msg)
    written = _export(ckpt, directory, onnx, sha, int8, calib, calib_method)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MANIFEST).write_text(
        json.dumps(
            {
                "checkpoint": ckpt.name,
                "checkpoint_sha256": sha,
                "calib": calib_key if int8 else have.get("calib"),
                "calib_method": calib_method if int8 else have.get("calib_method"),
                "calib_text": calib_txt if int8 else have.get("calib_text"),
                "files": [p.name for p in files],
            },
            indent=2,
        )
    )
    return CacheResult([*models, onnx], directory, False, written, calib_txt if int8 else None, msg)


def _belongs(path: Path, checkpoint_sha: str, onnx: Path) -> bool:
    """``path`` is a readable export of this checkpoint: the FP32 file records the
    checkpoint's SHA-256; an INT8 file records the FP32 file's and the target its name says."""
    from mmnet_edge.artifacts.formats import format_of
    from mmnet_edge.artifacts.metadata_io import read_onnx_metadata

    if not path.is_file():
        return False
    try:
        meta = read_onnx_metadata(path)
    except Exception:  # noqa: BLE001 - truncated or not ONNX: not ours
        return False
    if path == onnx:
        return meta.source_checkpoint_sha256 == checkpoint_sha
    fmt = format_of(path)
    return (
        meta.extra.get("source_onnx_sha256") == file_sha256(onnx)
        and meta.extra.get("int8_target") == fmt.target
    )


def _export(
    ckpt: Path,
    directory: Path,
    onnx: Path,
    sha: str,
    int8: bool,
    calib: str | os.PathLike[str] | None,
    calib_method: str,
) -> list[Path]:
    """Export through the one export API; an FP32 file made from this checkpoint is kept."""
    from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
    from mmnet_edge.export.pipeline import ExportSettings, export_model

    source: Path = ckpt
    try:
        if read_onnx_metadata(onnx).source_checkpoint_sha256 == sha:
            source = onnx  # only the INT8 variants are missing
    except Exception:  # noqa: BLE001, S110 - absent or unreadable: export it again
        pass
    settings = ExportSettings(
        precision="int8" if int8 else "fp32",
        calib=str(calib) if calib else None,
        calib_method=calib_method,
        lint=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the synthetic-calibration warning is in our message
        result = export_model(source, directory, settings)
    return result.written
