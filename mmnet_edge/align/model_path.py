"""Where the YuNet detector model comes from: argument → environment → fetched cache.

An explicit path (argument or ``$MMNET_EDGE_FACE_DETECTOR``) is used as given — it may be
any YuNet build — and a path that does not exist is an error, never a silent fallback.
Otherwise the pinned model is fetched on first use into the user cache and verified by its
SHA-256 (:mod:`mmnet_edge.align.model_fetch`: mirror, offline mode, pre-fetch).
"""

from __future__ import annotations

import os
from pathlib import Path

from mmnet_edge.align.model_fetch import YUNET, fetch_model, model_cache_dir
from mmnet_edge.errors import DetectorUnavailableError

#: the file name of the pinned detector model
YUNET_FILE = YUNET.file
ENV_VAR = "MMNET_EDGE_FACE_DETECTOR"


def default_cache_dir() -> Path:
    """Where a fetched model is kept (``$XDG_CACHE_HOME/mmnet-edge/models`` on Linux)."""
    return model_cache_dir()


def resolve_detector_model(
    path: str | os.PathLike[str] | None = None, progress: bool = True
) -> Path:
    """Find the YuNet model: argument → ``$MMNET_EDGE_FACE_DETECTOR`` → the verified cache,
    fetched on first use. Raises :class:`DetectorUnavailableError` saying what to do."""
    if path is not None:
        where, cand = "argument", Path(path).expanduser()
    elif os.environ.get(ENV_VAR):
        where, cand = f"${ENV_VAR}", Path(os.environ[ENV_VAR]).expanduser()
    else:
        return fetch_model(YUNET, progress=progress)
    if cand.is_file():
        return cand
    raise DetectorUnavailableError(
        f"face detector model not found ({where}: {cand}). Pass the path of a YuNet model "
        f"(the OpenCV model zoo's '{YUNET_FILE}'), or unset {ENV_VAR} and leave the path out "
        "to use the pinned model (fetched once into the cache; `mmnet-edge doctor --fetch`). "
        "Without a detector, pass face boxes/landmarks yourself (box=/landmarks=)."
    )
