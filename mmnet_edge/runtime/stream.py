"""Camera streams: feed frames one at a time, get a prediction per spotted micro-expression.

Memory is bounded: at most ``window`` aligned crops are kept, and nothing is queued.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from mmnet_edge.errors import InputError
from mmnet_edge.options import check_float_option, check_int_option
from mmnet_edge.preprocess import ColorOrder, as_rgb_uint8, is_grey
from mmnet_edge.runtime.prediction import ClipPrediction
from mmnet_edge.runtime.spotting import motion_between, motion_signature

if TYPE_CHECKING:  # pragma: no cover
    from mmnet_edge.runtime.runtime import Runtime


#: frames a stream may hold (memory: one aligned crop each; 10 s at 60 fps)
MAX_WINDOW = 600
#: motion is measured in grey levels (0–255): a higher threshold could never be reached
MAX_THRESHOLD = 255.0


class StreamPredictor:
    """Spots motion peaks relative to an onset frame and classifies each event.

    An event starts when motion (localised grey difference of the aligned face vs the
    onset, see :func:`~mmnet_edge.runtime.spotting.motion_between`) exceeds
    ``threshold``; its apex is the frame of peak motion; it ends when motion falls below
    ``release`` × peak, or when the window is full. The frame that ends an event becomes
    the next onset.
    """

    def __init__(
        self,
        runtime: Runtime,
        window: int = 60,
        threshold: float = 3.0,
        release: float = 0.5,
        color: ColorOrder | None = None,
    ) -> None:
        self.runtime = runtime
        # typed errors naming the option and its range, before any frame is held
        self.window = check_int_option("window", window, 3, MAX_WINDOW)
        self.threshold = check_float_option(
            "threshold", threshold, 0.0, MAX_THRESHOLD, low_open=True
        )
        self.release = check_float_option("release", release, 0.0, 1.0, low_open=True)
        self.color: ColorOrder = color or runtime.color
        if self.color not in ("rgb", "bgr"):
            raise InputError(f"color must be 'rgb' or 'bgr', not {self.color!r}")
        self._frames: deque[tuple[int, np.ndarray, float]] = deque(maxlen=window)
        self._onset: tuple[int, np.ndarray, np.ndarray] | None = None
        self._transform: Any = None
        self._frame_shape: tuple[int, ...] | None = None
        self._count = 0

    @property
    def face(self) -> Any:
        """The face the current alignment was fitted on (box, landmarks), or None."""
        return getattr(self._transform, "face", None)

    @property
    def buffered(self) -> int:
        """Frames currently held (never more than ``window``)."""
        return len(self._frames)

    def reset(self) -> None:
        self._frames.clear()
        self._onset = None
        self._transform = None
        self._frame_shape = None

    def _aligned(self, frame: np.ndarray) -> np.ndarray:
        rgb = as_rgb_uint8(frame, self.color, "frame")
        kind = (rgb.shape, is_grey(rgb))
        if self._frame_shape is not None and kind != self._frame_shape:
            # the camera changed resolution, or switched between colour and grey (IR night
            # mode): the fitted transform and the onset no longer apply; start over from this
            # frame (a re-fit), never compare across sizes or modes (clips and pairs refuse)
            self.reset()
        self._frame_shape = kind
        if not self.runtime.align:
            return rgb
        if self._transform is None:
            self._transform = self.runtime.fit_alignment(rgb)
        return self.runtime.warp(rgb, self._transform)

    def _start(self, index: int, crop: np.ndarray) -> None:
        self._onset = (index, crop, motion_signature(crop))
        self._frames.clear()

    def push(self, frame: np.ndarray) -> ClipPrediction | None:
        """Add one frame; returns a prediction when an event has just ended, else None."""
        index = self._count
        self._count += 1
        crop = self._aligned(frame)
        if self._onset is None:
            self._start(index, crop)
            return None
        motion = motion_between(self._onset[2], motion_signature(crop))
        self._frames.append((index, crop, motion))
        peak = max(self._frames, key=lambda f: f[2])
        ended = peak[2] >= self.threshold and motion <= self.release * peak[2]
        if not ended and len(self._frames) < self.window:
            return None
        result = self._classify(peak) if peak[2] >= self.threshold else None
        # The current frame is the new onset; a face that moved away triggers a re-fit.
        if result is None and len(self._frames) >= self.window:
            self._transform = None
            crop = self._aligned(frame)
        self._start(index, crop)
        return result

    def _classify(self, peak: tuple[int, np.ndarray, float]) -> ClipPrediction:
        assert self._onset is not None
        rt, m = self.runtime, self.runtime.metadata
        t0 = time.perf_counter()
        tensors = rt.to_tensors([self._onset[1], peak[1]])
        idx, probs, row = rt.classify(tensors[:1], tensors[1:])
        ms = (time.perf_counter() - t0) * 1e3
        return ClipPrediction(
            m.class_names[idx],
            idx,
            probs,
            {"inference": ms, "total": ms},
            None,
            row,
            onset_index=self._onset[0],
            apex_index=peak[0],
            motion=[float(f[2]) for f in self._frames],
        )
