"""Writing artefacts so that nothing is left half-written at a final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mmnet_edge.artifacts.formats import split_name
from mmnet_edge.errors import OutputError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s directory; on success it replaces ``path``.

    The temporary file is fsynced before ``os.replace``; on any error it is removed and
    ``path`` keeps its previous content. Files get the usual umask permissions.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # keep the variant tag and suffix (".fp16.onnx") so readers recognise the format
        stem, tag, suffix = split_name(path)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{stem}.tmp-", suffix=f"{tag}{suffix}", dir=path.parent
        )
        os.close(fd)
    except OSError as exc:
        raise OutputError(
            f"could not write {path}: {exc.strerror or exc}; choose a writable output directory"
        ) from exc
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(
            f"could not write {path}: {exc.strerror or exc}; check free space and permissions"
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> int:
    """Delete temporary files :func:`atomic_path` left behind in ``directory`` by a killed
    process (``.<stem>.tmp-*``); returns how many were removed."""
    removed = 0
    for p in Path(directory).glob(".*.tmp-*"):
        if p.is_file():
            p.unlink(missing_ok=True)
            removed += 1
    return removed


def check_writable(path: str | os.PathLike[str]) -> None:
    """OutputError now if ``path`` cannot be written later (folder missing and not creatable,
    not a folder, no permission), so a long run never ends by losing its result."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.check-", dir=path.parent)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise OutputError(
            f"cannot write {path}: {exc.strerror or exc}; choose a writable output path"
        ) from exc
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
