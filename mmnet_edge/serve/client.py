"""``Client(url)``: talk to ``mmnet-edge serve`` (or any Triton serving its models) with
tritonclient and get the same :class:`~mmnet_edge.runtime.prediction.Prediction` records
as :class:`~mmnet_edge.Runtime`.

>>> with Client("grpc://gpu-box:8001") as client:
...     pred = client.predict("onset.jpg", "apex.jpg")     # alignment on the server
...     print(pred.label, pred.probabilities)

``url``: ``grpc://HOST:PORT`` (default scheme; Triton's gRPC port, 8001) or
``http://HOST:PORT`` (8000). One client per thread (or share one gRPC client: its channel
is thread-safe). A request the server refuses (status 400 in its reply) raises
:class:`InputError` (or :class:`NoFaceError`) with the server's message; a server failure
raises :class:`BackendExecutionError`, an unreachable server :class:`BackendUnavailableError`.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import numpy as np

from mmnet_edge.errors import (
    BackendExecutionError,
    BackendUnavailableError,
    InputError,
    NoFaceError,
)
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.preprocess import ColorOrder, as_rgb_uint8, check_finite_tensor
from mmnet_edge.runtime.prediction import Prediction, postprocess
from mmnet_edge.serve.environment import SERVE_EXTRA
from mmnet_edge.serve.protocol import METADATA_MODEL, PAIR_MODEL, PAIR_OUTPUTS, TENSOR_MODEL
from mmnet_edge.serve.replies import raise_reply

ImageLike = np.ndarray | str | os.PathLike[str] | bytes


_EXC_LINE = re.compile(r"^(?:\w+\.)*\w*(?:Error|Exception): ")


def _server_message(exc: Exception) -> str:
    """The error a Triton/PyTriton failure reports: the raised exception's line of the
    server-side traceback (``mmnet_edge.errors.InputError: …``), else the whole message."""
    text = str(getattr(exc, "message", lambda: str(exc))() or exc)
    lines = [ln.strip() for ln in text.replace("\\n", "\n").splitlines() if ln.strip()]
    raised = [ln for ln in lines if _EXC_LINE.match(ln) and "TritonModelException" not in ln]
    if raised:
        return raised[-1]
    return " ".join(lines)[-500:] if lines else text


class Client:
    """A tritonclient-based client of the ``mmnet``, ``mmnet_pair`` and ``mmnet_metadata``
    models that ``mmnet-edge serve`` binds."""

    def __init__(
        self, url: str = "grpc://127.0.0.1:8001", timeout_s: float = 60.0, color: ColorOrder = "bgr"
    ) -> None:
        scheme, _, address = url.partition("://")
        if not address:
            scheme, address = "grpc", url
        if scheme not in ("grpc", "http"):
            raise InputError(f"url scheme must be grpc:// or http://, not {scheme}://")
        try:
            if scheme == "grpc":
                import tritonclient.grpc as tc
            else:
                import tritonclient.http as tc
        except ImportError as exc:
            raise BackendUnavailableError(
                f"mmnet_edge.serve.Client needs tritonclient: {SERVE_EXTRA}"
            ) from exc
        self._tc = tc
        self.url, self.scheme, self.address = url, scheme, address
        self.timeout_s = timeout_s
        self.color: ColorOrder = color
        self._client = tc.InferenceServerClient(address)
        self._metadata: ModelMetadata | None = None
        self._info: dict[str, Any] | None = None

    # ------------------------------------------------------------- plumbing
    def _input(self, name: str, array: np.ndarray, dtype: str) -> Any:
        t = self._tc.InferInput(name, list(array.shape), dtype)
        t.set_data_from_numpy(array)
        return t

    def _infer(self, model: str, inputs: list[Any], outputs: list[str]) -> Any:
        from tritonclient.utils import InferenceServerException

        requested = [self._tc.InferRequestedOutput(n) for n in outputs]
        kwargs: dict[str, Any] = {"outputs": requested}
        if self.scheme == "grpc":
            kwargs["client_timeout"] = self.timeout_s
        try:
            return self._client.infer(model, inputs, **kwargs)
        except InferenceServerException as exc:
            msg = _server_message(exc)
            status = str(exc.status() or "")
            if "unavailable" in status.lower() or "failed to connect" in msg.lower():
                raise BackendUnavailableError(f"cannot reach {self.url}: {msg}") from exc
            if "NoFaceError" in msg:
                raise NoFaceError(f"server: {msg}") from exc
            if "INTERNAL" in status.upper() or status == "500":
                # the server's own failure: bad requests come back in-band (status 400)
                raise BackendExecutionError(f"the server failed on {model}: {msg}") from exc
            raise InputError(f"server rejected the request to {model}: {msg}") from exc
        except OSError as exc:  # http client: connection refused
            raise BackendUnavailableError(f"cannot reach {self.url}: {exc}") from exc

    # ------------------------------------------------------------------ API
    def is_ready(self) -> bool:
        """True when the server answers and ``mmnet_pair`` is ready."""
        try:
            return bool(self._client.is_model_ready(PAIR_MODEL))
        except Exception:  # noqa: BLE001 - any transport error means "not ready"
            return False

    def info(self) -> dict[str, Any]:
        """What the server reports: model metadata, backend, max batch, queue delay."""
        if self._info is None:
            request = self._input("request", np.zeros(1, np.uint8), "UINT8")
            res = self._infer(METADATA_MODEL, [request], ["metadata"])
            self._info = json.loads(res.as_numpy("metadata").reshape(-1)[0])
        return self._info

    @property
    def metadata(self) -> ModelMetadata:
        """The served model's metadata (class names, input size, mean/std)."""
        if self._metadata is None:
            self._metadata = ModelMetadata.from_dict(self.info()["metadata"])
        return self._metadata

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.metadata.class_names

    def _frame(self, which: str, image: ImageLike, color: ColorOrder) -> Any:
        if isinstance(image, (bytes, bytearray)):
            data = np.array([bytes(image)], dtype=object)
            return self._input(f"{which}_image", data, "BYTES")
        if isinstance(image, (str, os.PathLike)):
            try:
                with open(image, "rb") as fh:
                    data = np.array([fh.read()], dtype=object)
            except OSError as exc:
                raise InputError(f"cannot read image {image}: {exc.strerror or exc}") from exc
            return self._input(f"{which}_image", data, "BYTES")
        rgb = as_rgb_uint8(image, color, which)
        return self._input(f"{which}_pixels", rgb, "UINT8")

    def predict(
        self, onset: ImageLike, apex: ImageLike, *, color: ColorOrder | None = None
    ) -> Prediction:
        """Classify one pair (paths or file bytes are sent encoded; arrays as RGB pixels,
        read in ``color`` order like ``Runtime.predict``); alignment runs on the server."""
        color = color or self.color
        t0 = time.perf_counter()
        inputs = [self._frame("onset", onset, color), self._frame("apex", apex, color)]
        res = self._infer(PAIR_MODEL, inputs, list(PAIR_OUTPUTS))
        ms = (time.perf_counter() - t0) * 1e3
        raw = res.as_numpy("error").reshape(-1)[0]
        raise_reply(res.as_numpy("status").reshape(-1)[0], raw, PAIR_MODEL)  # its typed error
        logits = res.as_numpy("logits").astype(np.float32)
        probs = res.as_numpy("probabilities")
        idx = int(res.as_numpy("index").reshape(-1)[0])
        label = res.as_numpy("label").reshape(-1)[0]
        label = label.decode() if isinstance(label, bytes) else str(label)
        names = self.class_names
        box = res.as_numpy("face_box")
        face = None if np.isnan(box).any() else tuple(float(v) for v in box)
        return Prediction(
            label,
            idx,
            {n: float(p) for n, p in zip(names, probs)},
            {"request": ms, "total": ms},
            face,
            logits,
        )

    def predict_tensors(self, onset: np.ndarray, apex: np.ndarray) -> list[Prediction]:
        """Classify preprocessed N×3×S×S float32 pairs through ``mmnet`` (no alignment).
        NaN/Inf is an :class:`InputError` here, before anything is sent."""
        on = np.ascontiguousarray(onset, dtype=np.float32)
        ap = np.ascontiguousarray(apex, dtype=np.float32)
        check_finite_tensor("onset", on)
        check_finite_tensor("apex", ap)
        t0 = time.perf_counter()
        res = self._infer(
            TENSOR_MODEL,
            [self._input("onset", on, "FP32"), self._input("apex", ap, "FP32")],
            ["logits"],
        )
        ms = (time.perf_counter() - t0) * 1e3 / max(1, len(on))
        logits = res.as_numpy("logits").astype(np.float32)
        names = self.class_names
        return [
            Prediction(names[i], i, probs, {"request": ms, "total": ms}, None, row)
            for (i, probs), row in zip(postprocess(logits, names), logits)
        ]

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Client"]
