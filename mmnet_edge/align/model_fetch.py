"""Pinned model files fetched on first use: the YuNet face detector.

The file is downloaded once into ``<cache>/models`` (``<cache>``: ``$MMNET_EDGE_CACHE_DIR``, else
the user cache from ``platformdirs``: ``$XDG_CACHE_HOME/mmnet-edge`` or ``~/.cache/mmnet-edge``
on Linux) with `pooch <https://www.fatiando.org/pooch>`_: a progress bar, a temporary file
renamed into place only after its SHA-256 matched the pin, and a file lock so that two
processes fetching at once download it once and never see a torn file. A cached file whose
hash is wrong is never used: it is fetched again (or, offline, refused with what to do).

* ``MMNET_EDGE_MODEL_MIRROR=URL`` — fetch ``URL/<file name>`` instead (air-gapped fleets);
  the same hash is checked.
* ``MMNET_EDGE_OFFLINE=1`` — never touch the network; only a verified cached file is used.
* ``MMNET_EDGE_CACHE_DIR=DIR`` — the cache root (a folder baked into a kiosk image; read-only
  is fine once the file is there).
* ``mmnet-edge doctor --fetch [--cache-dir DIR]`` pre-fetches (kiosk images built on a
  connected machine).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mmnet_edge.cache_dir import CACHE_VAR
from mmnet_edge.cache_dir import cache_dir as cache_root
from mmnet_edge.errors import DetectorUnavailableError

MIRROR_VAR = "MMNET_EDGE_MODEL_MIRROR"
OFFLINE_VAR = "MMNET_EDGE_OFFLINE"
#: seconds a process waits for another one fetching the same file
LOCK_TIMEOUT_S = 600


@dataclass(frozen=True)
class PinnedModel:
    """A model file identified by its SHA-256, and where to get it (tried in order)."""

    file: str
    sha256: str
    size: int
    urls: tuple[str, ...]
    description: str


#: OpenCV model zoo YuNet, 2026may release (MIT). The commit-pinned media URL is immutable;
#: the ``main`` URL is the fallback. Both must give these bytes (the hash is the pin).
YUNET = PinnedModel(
    file="face_detection_yunet_2026may.onnx",
    sha256="ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0",
    size=229_738,
    urls=(
        "https://media.githubusercontent.com/media/opencv/opencv_zoo/"
        "47534e27c9851bb1128ccc0102f1145e27f23f98/models/face_detection_yunet/"
        "face_detection_yunet_2026may.onnx",
        "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/"
        "face_detection_yunet_2026may.onnx",
    ),
    description="YuNet face detector (OpenCV model zoo, MIT)",
)


def model_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where fetched models live: ``<cache_dir or $MMNET_EDGE_CACHE_DIR or the user cache
    directory (honours XDG_CACHE_HOME)>/models``."""
    return cache_root("models", cache_dir)


def offline() -> bool:
    """True when ``MMNET_EDGE_OFFLINE`` is set to a true value."""
    return os.environ.get(OFFLINE_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cached_path(
    model: PinnedModel = YUNET, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """The cache location of ``model`` (whether or not it is there yet)."""
    return model_cache_dir(cache_dir) / model.file


def verified_cached(
    model: PinnedModel = YUNET, cache_dir: str | os.PathLike[str] | None = None
) -> Path | None:
    """The cached file if it is there and its SHA-256 matches the pin, else None."""
    path = cached_path(model, cache_dir)
    if path.is_file() and path.stat().st_size == model.size and sha256_of(path) == model.sha256:
        return path
    return None


def source_urls(model: PinnedModel = YUNET) -> tuple[str, ...]:
    """``MMNET_EDGE_MODEL_MIRROR/<file>`` when a mirror is set, else the pinned URLs. A
    mirror without a scheme is a local folder (a mounted share): a ``file://`` URL."""
    mirror = os.environ.get(MIRROR_VAR, "").strip()
    if mirror:
        if "://" not in mirror:
            return ((Path(mirror).expanduser().resolve() / model.file).as_uri(),)
        return (f"{mirror.rstrip('/')}/{model.file}",)
    return model.urls


def _copy_local(url: str, output_file: str, pooch: object) -> None:
    """A pooch downloader for ``file://`` URLs (a mirror on a mounted share)."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    shutil.copyfile(url2pathname(urlparse(url).path), output_file)


def _how_to_get(model: PinnedModel, path: Path) -> str:
    return (
        f"on a machine with network access run `mmnet-edge doctor --fetch` and copy "
        f"{path} to the same place here (`--cache-dir DIR` + {CACHE_VAR}=DIR for a folder "
        f"of your choice), or set {MIRROR_VAR} to a server holding {model.file}, or pass the "
        "file's path: --detector PATH / MMNET_EDGE_FACE_DETECTOR"
    )


def _why(exc: BaseException) -> str:
    """One short reason for a failed download (the exception type for the curious)."""
    import requests

    kind = type(exc).__name__
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason or ''}".rstrip()
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect (no network, DNS or proxy?) ({kind})"
    if isinstance(exc, requests.Timeout):
        return f"timed out ({kind})"
    if isinstance(exc, requests.RequestException):  # ChunkedEncodingError, ContentDecodingError
        return f"the transfer broke off before the end of the file ({kind})"
    if isinstance(exc, ValueError) and "hash" in str(exc).lower():
        return "the downloaded file does not match the pinned SHA-256 (refused)"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc} ({kind})"
    return f"{kind}: {str(exc)[:200]}"


def fetch_model(
    model: PinnedModel = YUNET,
    progress: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """The verified local copy of ``model``, fetched into the cache if needed (see module);
    ``cache_dir`` replaces the cache root for this call."""
    ok = verified_cached(model, cache_dir)
    if ok is not None:
        return ok
    path = cached_path(model, cache_dir)
    if offline():
        state = (
            f"is corrupt in the cache ({path}: SHA-256 mismatch; delete it)"
            if path.exists()
            else f"is not in the cache ({path})"
        )
        raise DetectorUnavailableError(
            f"{model.file} {state} and {OFFLINE_VAR} forbids fetching it; "
            + _how_to_get(model, path)
        )
    try:
        import pooch
        from filelock import FileLock, Timeout
    except ImportError as exc:  # pragma: no cover - core dependencies
        raise DetectorUnavailableError(f"cannot fetch {model.file}: {exc}") from exc
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_S)
        lock.acquire()
    except Timeout as exc:
        raise DetectorUnavailableError(
            f"another process has been fetching {model.file} for {LOCK_TIMEOUT_S} s "
            f"(lock {path}.lock); retry, or remove the lock if no fetch is running"
        ) from exc
    except OSError as exc:  # a read-only image, permissions
        raise DetectorUnavailableError(
            f"cannot write the model cache {path.parent} ({exc.strerror or exc}): set "
            f"{CACHE_VAR} (or XDG_CACHE_HOME) to a writable folder, or pre-fetch it there "
            "with `mmnet-edge doctor --fetch --cache-dir DIR`, or pass --detector PATH"
        ) from exc
    try:
        ok = verified_cached(model, cache_dir)  # another process may have fetched it meanwhile
        if ok is not None:
            return ok
        if path.exists():  # corrupt or partial: never used, fetched again
            path.unlink()
        errors = []
        for url in source_urls(model):
            try:
                pooch.retrieve(
                    url,
                    known_hash=f"sha256:{model.sha256}",
                    fname=model.file,
                    path=path.parent,
                    progressbar=progress,
                    downloader=_copy_local if url.startswith("file://") else None,
                )
            except Exception as exc:  # noqa: BLE001 - HTTP, network and hash errors alike
                errors.append(f"{url}: {_why(exc)}")
                continue
            # pooch's temporary file is private (0600): other users (a kiosk's service
            # account reading a file root pre-fetched) must be able to read the model
            os.chmod(path, 0o644)
            ok = verified_cached(model, cache_dir)
            if ok is not None:
                return ok
            errors.append(f"{url}: the file on disk does not match the pinned SHA-256")
    finally:
        lock.release()
    raise DetectorUnavailableError(
        f"could not fetch {model.description} ({model.file}, sha256 {model.sha256[:12]}…): "
        + "; ".join(errors)
        + f". {_how_to_get(model, path)}"
    )


__all__ = [
    "CACHE_VAR",
    "MIRROR_VAR",
    "OFFLINE_VAR",
    "YUNET",
    "PinnedModel",
    "cached_path",
    "fetch_model",
    "model_cache_dir",
    "offline",
    "source_urls",
    "verified_cached",
]
