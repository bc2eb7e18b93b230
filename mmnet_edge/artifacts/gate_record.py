"""The INT8 agreement gate's result as export records it in a file's metadata.

:mod:`mmnet_edge.calibration.gate` measures it; bench, the recommendation and the runtime
read it here (without importing the calibration code).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmnet_edge.compare import AGREEMENT_GATE
from mmnet_edge.errors import MMNetEdgeError

#: where an INT8 file's metadata (``extra``) records its gate result
GATE_KEY = "int8_gate"


class Int8GateWarning(UserWarning):
    """An INT8 file that failed the agreement gate at export was opened explicitly."""


def recorded_gate(path: Path | str) -> dict[str, Any] | None:
    """The gate result export recorded in an INT8 file's metadata (None: not gated)."""
    from mmnet_edge.artifacts.metadata_io import read_metadata

    try:
        rec = read_metadata(Path(path)).extra.get(GATE_KEY)
    except (MMNetEdgeError, OSError):
        return None
    return rec if isinstance(rec, dict) and "passed" in rec else None


def gate_failure(path: Path | str) -> str:
    """``""`` unless the file's recorded gate failed; then why, in one phrase."""
    rec = recorded_gate(path)
    if not rec or rec.get("passed"):
        return ""
    return (
        f"{Path(path).name} failed the INT8 agreement gate at export (worst set "
        f"{rec.get('worst')}: {rec.get('worst_agreement', float('nan')):.3f} < "
        f"{rec.get('gate', AGREEMENT_GATE)}); calibrate on real data (`mmnet-edge calibrate "
        "build`, `export --int8 --calib`) or run FP32/bf16"
    )


__all__ = ["GATE_KEY", "Int8GateWarning", "gate_failure", "recorded_gate"]
