"""Prediction records and the one postprocessing step (softmax + class names)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmnet_edge.compare import softmax


@dataclass
class Prediction:
    """One classified onset/apex pair."""

    label: str
    index: int
    probabilities: dict[str, float]
    timings_ms: dict[str, float]
    face_box: tuple[float, float, float, float] | None = None
    logits: np.ndarray | None = field(default=None, repr=False)

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "index": self.index,
            "probabilities": self.probabilities,
            "timings_ms": self.timings_ms,
            "face_box": list(self.face_box) if self.face_box else None,
        }


@dataclass
class ClipPrediction(Prediction):
    """A prediction on a clip: adds the chosen onset/apex frames and the motion curve."""

    onset_index: int = 0
    apex_index: int = 0
    motion: list[float] = field(default_factory=list)
    frames_analysed: int = 0
    #: a video's frame count as its container declares it (None: not a video / not said)
    frames_declared: int | None = None
    #: the video stopped decoding before ``frames_declared`` (the result covers only the rest)
    partial: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(
            onset_index=self.onset_index,
            apex_index=self.apex_index,
            motion=self.motion,
            frames_analysed=self.frames_analysed,
            frames_declared=self.frames_declared,
            partial=self.partial,
        )
        return d


def postprocess(
    logits: np.ndarray, class_names: Sequence[str]
) -> list[tuple[int, dict[str, float]]]:
    """Per row: (argmax index, class name → probability)."""
    probs = softmax(logits)
    return [(int(p.argmax()), {n: float(v) for n, v in zip(class_names, p)}) for p in probs]
