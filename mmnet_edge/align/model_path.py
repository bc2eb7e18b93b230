"""Where the YuNet detector model comes from: argument → environment → cache directory.

mmnet-edge never downloads or ships the model; when it is absent the error says which
file to obtain and where to put it.
"""

from __future__ import annotations

import os
from pathlib import Path

from mmnet_edge.errors import DetectorUnavailableError

YUNET_FILE = "face_detection_yunet_2023mar.onnx"
ENV_VAR = "MMNET_EDGE_FACE_DETECTOR"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mmnet-edge`` (``~/.cache/mmnet-edge`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mmnet-edge"


def resolve_detector_model(path: str | os.PathLike[str] | None = None) -> Path:
    """Find the YuNet model: argument → ``$MMNET_EDGE_FACE_DETECTOR`` → cache directory.

    The first source that is *given* decides (an explicit path that does not exist is an
    error, not a silent fallback). Raises :class:`DetectorUnavailableError` naming the file
    to obtain and the three places it can go.
    """
    if path is not None:
        where, cand = "argument", Path(path).expanduser()
    elif os.environ.get(ENV_VAR):
        where, cand = f"${ENV_VAR}", Path(os.environ[ENV_VAR]).expanduser()
    else:
        where, cand = "cache directory", default_cache_dir() / YUNET_FILE
    if cand.is_file():
        return cand
    raise DetectorUnavailableError(
        f"face detector model not found ({where}: {cand}). Obtain the YuNet model "
        f"'{YUNET_FILE}' from the OpenCV model zoo (github.com/opencv/opencv_zoo, "
        f"models/face_detection_yunet) and either pass its path (--detector PATH / "
        f"YuNetDetector(PATH)), set {ENV_VAR}=/path/to/{YUNET_FILE}, or copy it to "
        f"{default_cache_dir() / YUNET_FILE}. mmnet-edge never downloads it. Without a "
        "detector, pass face boxes/landmarks yourself (box=/landmarks=)."
    )
