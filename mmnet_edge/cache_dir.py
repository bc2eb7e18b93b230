"""The one cache root of mmnet-edge: ``$MMNET_EDGE_CACHE_DIR``, else the user cache directory
from ``platformdirs`` (``$XDG_CACHE_HOME/mmnet-edge`` or ``~/.cache/mmnet-edge`` on Linux).

Fetched models live in ``<root>/models`` (:mod:`mmnet_edge.align.model_fetch`), the exports
``mmnet-edge bench CHECKPOINT`` makes in ``<root>/bench`` (:mod:`mmnet_edge.bench.cache`).
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_VAR = "MMNET_EDGE_CACHE_DIR"


def cache_dir(part: str, root: str | os.PathLike[str] | None = None) -> Path:
    """``<root or $MMNET_EDGE_CACHE_DIR or the user cache directory>/<part>``."""
    base = str(root or "").strip() or os.environ.get(CACHE_VAR, "").strip()
    if base:
        return Path(base).expanduser() / part
    import platformdirs

    return platformdirs.user_cache_path("mmnet-edge", appauthor=False) / part


__all__ = ["CACHE_VAR", "cache_dir"]
