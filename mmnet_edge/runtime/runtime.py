"""``Runtime``: face alignment + preprocessing + any backend, in one object.

Thread safety: a ``Runtime`` may be shared by threads. Alignment (the OpenCV detector
is stateful) and inference each run under their own lock, so concurrent calls give the
same results as serial ones; preprocessing runs unlocked. For throughput across threads
prefer one ``Runtime`` per thread, or ``predict_batch``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from mmnet_edge.errors import InputError
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.preprocess import ColorOrder, as_rgb_uint8, check_same_kind, to_tensor
from mmnet_edge.runtime.prediction import ClipPrediction, Prediction, postprocess

__all__ = ["ClipPrediction", "Prediction", "Runtime"]

ImageLike = np.ndarray | str | os.PathLike[str] | bytes | bytearray | memoryview


def load_image(image: ImageLike, color: ColorOrder, name: str) -> tuple[np.ndarray, ColorOrder]:
    """Array passthrough; a file path or encoded file bytes (JPEG, PNG …) decoded → BGR."""
    if isinstance(image, (str, os.PathLike)):
        from mmnet_edge.io import read_image

        return read_image(image), "bgr"
    if isinstance(image, (bytes, bytearray, memoryview)):
        from mmnet_edge.io import decode_image

        return decode_image(bytes(image), name), "bgr"
    if not isinstance(image, np.ndarray):
        raise InputError(
            f"{name}: expected an image array, a path or encoded bytes, got {type(image).__name__}"
        )
    return image, color


class Runtime:
    """Alignment + inference on a checkpoint, ONNX model or TensorRT engine.

    >>> with Runtime("model.onnx", detector="face_detection_yunet_2023mar.onnx") as rt:
    ...     pred = rt.predict("onset.jpg", "apex.jpg")
    ...     print(pred.label, pred.probabilities)
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        backend: str = "auto",
        device: str | None = None,
        precision: str | None = None,
        align: bool = True,
        detector: Any = None,
        aligner: Any = None,
        color: ColorOrder = "bgr",
        **runner_options: Any,
    ) -> None:
        from mmnet_edge.runtime.loader import open_runner

        if color not in ("rgb", "bgr"):
            raise InputError(
                f"color must be 'rgb' or 'bgr' (the order of your arrays), not {color!r}"
            )
        self.runner = open_runner(
            model, backend=backend, device=device, precision=precision, **runner_options
        )
        self.metadata: ModelMetadata = self.runner.metadata
        self.color: ColorOrder = color
        self.align = align
        self._aligner = aligner
        self._detector = detector
        self._align_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._closed = False
        if align and aligner is None:
            self._aligner = self._make_aligner(detector)

    # ------------------------------------------------------------------ setup
    def _make_aligner(self, detector: Any) -> Any:
        from mmnet_edge.align import Aligner, YuNetDetector

        if detector is None or isinstance(detector, (str, os.PathLike)):
            detector = YuNetDetector(detector)
        return Aligner(detector=detector, output_size=self.metadata.input_size)

    @property
    def backend(self) -> str:
        """The backend actually in use (``torch``, ``onnxruntime`` or ``tensorrt``)."""
        return self.runner.backend

    @property
    def backend_reason(self) -> str:
        return str(getattr(self.runner, "reason", ""))

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.metadata.class_names

    @property
    def input_size(self) -> int:
        return self.metadata.input_size

    @property
    def max_batch(self) -> int:
        return int(self.runner.max_batch or 64)

    # ---------------------------------------------------------------- stages
    def prepare(
        self,
        onset: ImageLike,
        apex: ImageLike,
        color: ColorOrder | None = None,
        aligner: Any = None,
        **face: Any,
    ) -> tuple[np.ndarray, np.ndarray, tuple[float, ...] | None, dict[str, float]]:
        """Decode + check + align + preprocess one pair, exactly as :meth:`predict` does:
        ``(onset 1×3×S×S, apex 1×3×S×S, face box or None, stage timings in ms)``.

        ``onset``/``apex``: arrays (in ``color`` order), file paths or encoded file bytes.
        ``aligner``: an :class:`~mmnet_edge.align.Aligner` of the caller's own (a server
        instance per thread), else this runtime's, under its lock. ``box=``/``landmarks=``
        as for :meth:`predict`. Feed the tensors to :meth:`run_tensors`."""
        return self._prepare(onset, apex, color, aligner, **face)

    def _prepare(
        self,
        onset: ImageLike,
        apex: ImageLike,
        color: ColorOrder | None,
        aligner: Any = None,
        **face: Any,
    ) -> tuple[np.ndarray, np.ndarray, tuple[float, ...] | None, dict[str, float]]:
        """Decode + align + preprocess one pair → (1×3×S×S, 1×3×S×S, face box, timings)."""
        t0 = time.perf_counter()
        on, on_color = load_image(onset, color or self.color, "onset")
        ap, ap_color = load_image(apex, color or self.color, "apex")
        on_rgb = as_rgb_uint8(on, on_color, "onset")
        ap_rgb = as_rgb_uint8(ap, ap_color, "apex")
        if on_rgb.shape != ap_rgb.shape:
            raise InputError(
                f"onset {on_rgb.shape[:2]} and apex {ap_rgb.shape[:2]} sizes differ: both frames "
                "must come from the same camera/crop"
            )
        check_same_kind([on_rgb, ap_rgb], ["onset", "apex"])
        t1 = time.perf_counter()
        box = None
        if self.align:
            if aligner is not None:
                pair = aligner.align_pair(on_rgb, ap_rgb, color="rgb", **face)
            else:
                with self._align_lock:
                    pair = self._aligner.align_pair(on_rgb, ap_rgb, color="rgb", **face)
            on_rgb, ap_rgb = pair.onset, pair.apex
            if pair.face is not None:
                box = tuple(float(v) for v in pair.face.box)
        t2 = time.perf_counter()
        tensors = self.to_tensors([on_rgb, ap_rgb])
        t3 = time.perf_counter()
        timings = {
            "decode": (t1 - t0) * 1e3,
            "align": (t2 - t1) * 1e3,
            "preprocess": (t3 - t2) * 1e3,
        }
        return tensors[:1], tensors[1:], box, timings

    def run_tensors(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        """Raw logits for preprocessed N×3×S×S float32 tensors (no alignment). A tensor of
        another shape or dtype, or with NaN/Inf, is an :class:`InputError` naming it."""
        self._check_open()
        with self._run_lock:
            return self.runner.run(onset, apex)

    def _postprocess(self, logits: np.ndarray) -> list[tuple[int, dict[str, float]]]:
        return postprocess(logits, self.metadata.class_names)

    def to_tensors(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """Aligned RGB uint8 face crops → N×3×S×S model input (metadata's preprocessing)."""
        m = self.metadata
        return to_tensor(list(faces), m.input_size, m.mean, m.std, channel_order=m.channel_order)

    def classify(self, onset: np.ndarray, apex: np.ndarray) -> tuple[int, dict[str, float], Any]:
        """(index, probabilities, logits row) for one preprocessed 1×3×S×S pair."""
        logits = self.run_tensors(onset, apex)
        ((idx, probs),) = self._postprocess(logits)
        return idx, probs, logits[0]

    def fit_alignment(self, frame_rgb: np.ndarray) -> Any:
        """The similarity transform that aligns the face in ``frame_rgb`` (for streams)."""
        self._check_open()
        with self._align_lock:
            return self._aligner.fit(frame_rgb, color="rgb")

    def warp(self, frame_rgb: np.ndarray, transform: Any) -> np.ndarray:
        """Apply a transform from :meth:`fit_alignment` → aligned RGB crop."""
        with self._align_lock:
            return self._aligner.warp(frame_rgb, transform, color="rgb")

    def _check_open(self) -> None:
        if self._closed:
            from mmnet_edge.runtime.runner import RunnerClosedError

            raise RunnerClosedError("this Runtime is closed; create a new one")

    # ------------------------------------------------------------------ API
    def predict(
        self,
        onset: ImageLike,
        apex: ImageLike,
        *,
        color: ColorOrder | None = None,
        face: Any = None,
        box: Sequence[float] | None = None,
        landmarks: np.ndarray | None = None,
    ) -> Prediction:
        """Classify one onset/apex pair (arrays in ``color`` order, or image paths)."""
        self._check_open()
        extra = {
            k: v
            for k, v in (("face", face), ("box", box), ("landmarks", landmarks))
            if v is not None
        }
        on_t, ap_t, fbox, timings = self._prepare(onset, apex, color, **extra)
        t0 = time.perf_counter()
        logits = self.run_tensors(on_t, ap_t)
        t1 = time.perf_counter()
        ((idx, probs),) = self._postprocess(logits)
        t2 = time.perf_counter()
        timings.update(inference=(t1 - t0) * 1e3, postprocess=(t2 - t1) * 1e3)
        timings["total"] = sum(timings.values())
        return Prediction(self.metadata.class_names[idx], idx, probs, timings, fbox, logits[0])

    def predict_batch(
        self, pairs: Iterable[tuple[ImageLike, ImageLike]], *, color: ColorOrder | None = None
    ) -> list[Prediction]:
        """Classify many pairs, batched up to the backend's max batch."""
        prepared = [self._prepare(on, ap, color) for on, ap in pairs]
        out: list[Prediction] = []
        for start in range(0, len(prepared), self.max_batch):
            chunk = prepared[start : start + self.max_batch]
            on = np.concatenate([c[0] for c in chunk])
            ap = np.concatenate([c[1] for c in chunk])
            t0 = time.perf_counter()
            logits = self.run_tensors(on, ap)
            per = (time.perf_counter() - t0) * 1e3 / len(chunk)
            for (_, _, box, timings), (idx, probs), lg in zip(
                chunk, self._postprocess(logits), logits
            ):
                timings = {**timings, "inference": per}
                timings["total"] = sum(timings.values())
                out.append(Prediction(self.metadata.class_names[idx], idx, probs, timings, box, lg))
        return out

    def predict_clip(
        self,
        frames: Sequence[np.ndarray] | str | os.PathLike[str],
        *,
        onset_index: int = 0,
        color: ColorOrder | None = None,
        smoothing: int = 3,
    ) -> ClipPrediction:
        """Spot the apex (max aligned-face motion vs the onset) in a clip and classify it.

        ``frames``: a list of frames (in ``color`` order), a video file or a folder of
        frames, of any length. Memory stays bounded: frames are read one at a time and only
        the onset and apex crops are kept (a video is decoded a second time to fetch the
        apex). ``frames_analysed`` in the result counts every frame scanned.
        """
        from mmnet_edge.runtime.spotting import ClipFrames, spot_clip

        self._check_open()
        t0 = time.perf_counter()
        clip = ClipFrames(frames, color or self.color)
        box: list[tuple[float, ...] | None] = [None]

        def prepare(onset_rgb: np.ndarray) -> Any:
            if not self.align:
                return lambda f: f
            transform = self.fit_alignment(onset_rgb)
            if transform.face is not None:
                box[0] = tuple(float(v) for v in transform.face.box)
            return lambda f: self.warp(f, transform)

        spot = spot_clip(clip, onset_index, prepare, smoothing)
        t1 = time.perf_counter()
        tensors = self.to_tensors([spot.onset, spot.apex])
        t2 = time.perf_counter()
        logits = self.run_tensors(tensors[:1], tensors[1:])
        t3 = time.perf_counter()
        ((idx, probs),) = self._postprocess(logits)
        timings = {
            "align": spot.timings_ms["fit"],
            "spot": (t1 - t0) * 1e3 - spot.timings_ms["fit"],
            "preprocess": (t2 - t1) * 1e3,
            "inference": (t3 - t2) * 1e3,
        }
        timings["total"] = sum(timings.values())
        return ClipPrediction(
            self.metadata.class_names[idx],
            idx,
            probs,
            timings,
            box[0],
            logits[0],
            onset_index=spot.onset_index,
            apex_index=spot.apex_index,
            motion=[float(v) for v in spot.curve],
            frames_analysed=spot.frames,
            frames_declared=clip.decode_report.get("declared"),
            partial=bool(clip.decode_report.get("partial")),
        )

    def stream(self, **options: Any) -> Any:
        """A :class:`~mmnet_edge.runtime.stream.StreamPredictor` bound to this runtime."""
        from mmnet_edge.runtime.stream import StreamPredictor

        return StreamPredictor(self, **options)

    # -------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Release the backend (device memory, sessions). Idempotent."""
        if not self._closed:
            self._closed = True
            self.runner.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Runtime(backend={self.backend!r}, classes={list(self.class_names)}, "
            f"input={self.input_size}, align={self.align})"
        )
