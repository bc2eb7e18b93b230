"""``MMNetServer``: the mmnet-edge runner bound into a real Triton server with NVIDIA PyTriton.

PyTriton (``[serve]`` extra) starts the Triton Inference Server its wheel bundles and runs
the bound Python functions in this process. Three models:

``mmnet``
    preprocessed tensors → logits. Inputs ``onset``/``apex`` FP32 ``[3, S, S]`` (aligned,
    resized, RGB, normalised with the model's mean/std), outputs ``logits`` and
    ``probabilities`` FP32 ``[C]``. Dynamic batching: max batch from ``--max-batch``, else
    the engine's profile max (TensorRT), else 16; requests wait at most ``queue_delay_us``.
``mmnet_pair``
    raw frames → a prediction, alignment on the server. Inputs (one pair per request) either
    ``onset_image``/``apex_image`` BYTES ``[1]`` (encoded JPEG/PNG/… files) or
    ``onset_pixels``/``apex_pixels`` UINT8 ``[H, W, 3]`` (RGB). Outputs ``label`` BYTES
    ``[1]``, ``index`` INT32 ``[1]``, ``logits``/``probabilities`` FP32 ``[C]``, ``face_box``
    FP32 ``[4]`` (NaN without alignment). Each request runs on its own (``pair_instances``
    in parallel, each with its own face detector), so a bad frame fails only its own
    request; the tensors then go through
    ``mmnet`` over gRPC, where requests of all cameras are batched together (Triton's
    ensemble pattern).

Both inference models also answer ``status`` INT32 and ``error`` BYTES per pair: 200 and
``""``, or 400 and a JSON type/message when the request itself is bad (undecodable image,
colour/grey mix, NaN/Inf tensor, no face …). PyTriton would turn a raised error into a 500
for the whole batch (:mod:`mmnet_edge.serve.replies`); server faults still raise.
``mmnet_metadata``
    input ``request`` UINT8 ``[1]`` (ignored) → ``metadata`` BYTES ``[1]``: the model
    metadata JSON (class names, input size, mean/std) and the serving settings.

Health (``/v2/health/ready``), model statistics and Prometheus metrics (metrics port,
``/metrics``) are Triton's own.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.compare import softmax
from mmnet_edge.errors import BackendUnavailableError, InputError
from mmnet_edge.preprocess import check_pair_tensors
from mmnet_edge.serve.environment import (
    SERVE_EXTRA,
    check_ports,
    numpy_hint,
    prepare_stub_environment,
)
from mmnet_edge.serve.protocol import METADATA_MODEL, PAIR_MODEL, REPLY_OUTPUTS, TENSOR_MODEL
from mmnet_edge.serve.replies import OK, ErrorReply, raise_reply, reply_for

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 16


@dataclass
class ServeSettings:
    """How ``mmnet-edge serve`` runs (the CLI's options default to these)."""

    host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    max_batch: int | None = None  #: default: the engine's profile max, else 16
    queue_delay_us: int = 500
    pair_instances: int = 4
    backend: str = "auto"
    device: str | None = None
    precision: str | None = None
    align: bool = True
    detector: str | None = None
    triton_log_verbose: int = 0
    startup_timeout_s: float = 120.0

    def ports(self) -> dict[str, int]:
        return {
            "http_port": self.http_port,
            "grpc_port": self.grpc_port,
            "metrics_port": self.metrics_port,
        }


def import_pytriton() -> Any:
    """The ``pytriton`` package, or BackendUnavailableError naming the ``[serve]`` extra."""
    try:
        import pytriton.triton
        import tritonclient.grpc  # noqa: F401 - the pair model calls `mmnet` through it
    except ImportError as exc:
        raise BackendUnavailableError(
            f"`mmnet-edge serve` needs NVIDIA PyTriton and tritonclient ({exc.name} is "
            f"missing): {SERVE_EXTRA}"
        ) from exc
    return pytriton


def _refuse(model: str, exc: BaseException) -> ErrorReply | None:
    """The reply refusing a request for its own fault (logged), or None: the server's fault."""
    reply = reply_for(exc)
    if reply is not None:
        log.info("%s: refused a request (%d %s): %s", model, reply.status, reply.type, exc)
    return reply


def _reply_outputs(reply: ErrorReply | None, rows: int | None = None) -> dict[str, np.ndarray]:
    """``status``/``error`` outputs: one value, or ``rows`` of them (a batched model)."""
    status = np.array([OK if reply is None else reply.status], dtype=np.int32)
    error = np.array([b"" if reply is None else reply.to_bytes()], dtype=object)
    if rows is None:
        return {"status": status, "error": error}
    return {"status": np.tile(status, (rows, 1)), "error": np.tile(error, (rows, 1))}


def _first_error(result: Any) -> bytes:
    raw = result.as_numpy("error").reshape(-1)[0]
    return raw if isinstance(raw, bytes) else str(raw).encode()


def _first(request: Any, names: Sequence[str]) -> tuple[str, np.ndarray] | None:
    for n in names:
        if n in request.keys():
            return n, request[n]
    return None


@dataclass
class _Stats:
    """Batch sizes the ``mmnet`` function saw (also in Triton's own metrics)."""

    batch_sizes: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, n: int) -> None:
        with self.lock:
            self.batch_sizes.append(n)


class MMNetServer:
    """``mmnet-edge serve``: a Triton server (PyTriton) over one mmnet-edge model.

    >>> with MMNetServer("mmnet.onnx", ServeSettings(http_port=8000)) as server:
    ...     server.wait()          # until SIGINT/SIGTERM (or server.stop() from a thread)
    """

    def __init__(self, model: str | os.PathLike[str], settings: ServeSettings | None = None):
        self.model = Path(model)
        self.settings = settings or ServeSettings()
        self.stats = _Stats()
        self._triton: Any = None
        self._runtime: Any = None
        self._local = threading.local()
        self._stop = threading.Event()
        self.max_batch = 0

    # ------------------------------------------------------------------ urls
    @property
    def http_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"grpc://{self.settings.host}:{self.settings.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.metrics_port}/metrics"

    # --------------------------------------------------------------- lifetime
    def start(self) -> MMNetServer:
        """Open the model, start Triton, bind the models, check one inference end to end."""
        s = self.settings
        import_pytriton()
        from pytriton.triton import Triton, TritonConfig

        if s.queue_delay_us < 0 or s.pair_instances < 1:
            raise InputError("queue delay must be ≥ 0 µs and --pair-instances ≥ 1")
        check_ports(s.host, s.ports())
        prepare_stub_environment()
        from mmnet_edge.runtime.runtime import Runtime

        self._runtime = Runtime(
            self.model,
            backend=s.backend,
            device=s.device,
            precision=s.precision,
            align=s.align,
            detector=s.detector,
        )
        limit = self._runtime.runner.max_batch
        if s.max_batch is not None and limit is not None and s.max_batch > limit:
            raise InputError(
                f"--max-batch {s.max_batch} exceeds what {self.model.name} accepts ({limit}: the "
                "engine's profile max); rebuild the engine with a larger --batch"
            )
        self.max_batch = int(s.max_batch or limit or DEFAULT_MAX_BATCH)
        if self.max_batch < 1:
            raise InputError("--max-batch must be ≥ 1")
        config = TritonConfig(
            http_address=s.host,
            http_port=s.http_port,
            grpc_address=s.host,
            grpc_port=s.grpc_port,
            metrics_address=s.host,
            metrics_port=s.metrics_port,
            log_verbose=s.triton_log_verbose,
            exit_on_error=True,
        )
        self._triton = Triton(config=config)
        try:
            self._bind()
            self._triton.run()
            self._self_check()
        except BaseException:
            self.stop()
            raise
        log.info("serving %s: %s %s (metrics %s)", self.model, self.http_url, self.grpc_url,
                 self.metrics_url)  # fmt: skip
        return self

    def wait(self) -> None:
        """Block until SIGINT/SIGTERM or :meth:`stop`; then stop the server."""
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, lambda *_: self._stop.set())
        try:
            while not self._stop.wait(0.5):
                if self._triton is not None and not self._triton.is_alive():
                    raise BackendUnavailableError("the Triton server exited; see its log above")
        finally:
            for sig, h in handlers.items():
                signal.signal(sig, h)
            self.stop()

    def stop(self) -> None:
        """Stop Triton (in-flight requests finish) and release the model. Idempotent."""
        self._stop.set()
        triton, self._triton = self._triton, None
        if triton is not None:
            triton.stop()
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.close()

    def __enter__(self) -> MMNetServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- models
    def _bind(self) -> None:
        from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor

        s, rt = self.settings, self._runtime
        size, n_cls = rt.input_size, len(rt.class_names)
        tensor = (3, size, size)
        replies = [
            Tensor(name="status", dtype=np.int32, shape=(1,)),
            Tensor(name="error", dtype=np.bytes_, shape=(1,)),
        ]
        self._triton.bind(
            model_name=TENSOR_MODEL,
            infer_func=self._tensor_function(),
            inputs=[
                Tensor(name="onset", dtype=np.float32, shape=tensor),
                Tensor(name="apex", dtype=np.float32, shape=tensor),
            ],
            outputs=[
                Tensor(name="logits", dtype=np.float32, shape=(n_cls,)),
                Tensor(name="probabilities", dtype=np.float32, shape=(n_cls,)),
                *replies,
            ],
            config=ModelConfig(
                max_batch_size=self.max_batch,
                batcher=DynamicBatcher(max_queue_delay_microseconds=s.queue_delay_us),
            ),
            strict=True,
        )
        self._triton.bind(
            model_name=PAIR_MODEL,
            infer_func=[self._pair_function() for _ in range(s.pair_instances)],
            inputs=[
                Tensor(name="onset_image", dtype=np.bytes_, shape=(1,), optional=True),
                Tensor(name="apex_image", dtype=np.bytes_, shape=(1,), optional=True),
                Tensor(name="onset_pixels", dtype=np.uint8, shape=(-1, -1, 3), optional=True),
                Tensor(name="apex_pixels", dtype=np.uint8, shape=(-1, -1, 3), optional=True),
            ],
            outputs=[
                Tensor(name="label", dtype=np.bytes_, shape=(1,)),
                Tensor(name="index", dtype=np.int32, shape=(1,)),
                Tensor(name="logits", dtype=np.float32, shape=(n_cls,)),
                Tensor(name="probabilities", dtype=np.float32, shape=(n_cls,)),
                Tensor(name="face_box", dtype=np.float32, shape=(4,)),
                *replies,
            ],
            config=ModelConfig(batching=False),
            strict=True,
        )
        info = {
            "metadata": rt.metadata.to_dict(),
            "backend": rt.backend,
            "max_batch": self.max_batch,
            "queue_delay_us": s.queue_delay_us,
            "align": s.align,
            "models": [TENSOR_MODEL, PAIR_MODEL, METADATA_MODEL],
        }
        blob = np.array([json.dumps(info, default=str).encode()], dtype=object)

        def infer_metadata(requests: list[Any]) -> list[dict[str, np.ndarray]]:
            return [{"metadata": blob} for _ in requests]

        self._triton.bind(
            model_name=METADATA_MODEL,
            infer_func=infer_metadata,
            inputs=[Tensor(name="request", dtype=np.uint8, shape=(1,))],
            outputs=[Tensor(name="metadata", dtype=np.bytes_, shape=(1,))],
            config=ModelConfig(batching=False),
            strict=True,
        )

    def _tensor_function(self) -> Any:
        """The ``mmnet`` function: each request of a dynamic batch is checked on its own (a
        NaN/Inf tensor is refused with status 400 in its own reply) and the rest run as one
        batch, so one camera's bad tensor never fails another camera's request."""
        rt = self._runtime
        n_cls = len(rt.class_names)

        def infer_tensors(requests: list[Any]) -> list[dict[str, np.ndarray]]:
            refused: dict[int, ErrorReply] = {}
            good: list[tuple[int, np.ndarray, np.ndarray]] = []
            for i, request in enumerate(requests):
                on = np.ascontiguousarray(request["onset"], dtype=np.float32)
                ap = np.ascontiguousarray(request["apex"], dtype=np.float32)
                try:
                    check_pair_tensors(on, ap, rt.input_size)
                except InputError as exc:
                    refused[i] = _refuse(TENSOR_MODEL, exc)
                else:
                    good.append((i, on, ap))
            logits: dict[int, np.ndarray] = {}
            if good:
                on = np.concatenate([g[1] for g in good])
                ap = np.concatenate([g[2] for g in good])
                self.stats.add(int(on.shape[0]))
                out = rt.run_tensors(on, ap).astype(np.float32)
                bounds = np.cumsum([len(g[1]) for g in good])[:-1]
                logits = {g[0]: part for g, part in zip(good, np.split(out, bounds))}
            responses = []
            for i, request in enumerate(requests):
                n = len(request["onset"])
                reply = refused.get(i)
                lg = logits[i] if reply is None else np.full((n, n_cls), np.nan, np.float32)
                responses.append(
                    {
                        "logits": lg,
                        "probabilities": softmax(lg).astype(np.float32),
                        **_reply_outputs(reply, n),
                    }
                )
            return responses

        return infer_tensors

    def _tensor_client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            import tritonclient.grpc as grpcclient

            s = self.settings
            client = grpcclient.InferenceServerClient(f"{s.host}:{s.grpc_port}")
            self._local.client = client
        return client

    def _run_through_tensor_model(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        """Logits for one preprocessed pair via ``mmnet`` (batched with other requests)."""
        import tritonclient.grpc as grpcclient

        inputs = []
        for name, arr in (("onset", onset), ("apex", apex)):
            t = grpcclient.InferInput(name, list(arr.shape), "FP32")
            t.set_data_from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
            inputs.append(t)
        outputs = [grpcclient.InferRequestedOutput(n) for n in ("logits", *REPLY_OUTPUTS)]
        res = self._tensor_client().infer(TENSOR_MODEL, inputs, outputs=outputs)
        raise_reply(res.as_numpy("status").reshape(-1)[0], _first_error(res), TENSOR_MODEL)
        return res.as_numpy("logits")

    def _make_aligner(self) -> Any:
        """A detector + aligner of its own for one ``mmnet_pair`` instance (no shared lock)."""
        if not self.settings.align:
            return None
        from mmnet_edge.align import Aligner, YuNetDetector

        return Aligner(
            detector=YuNetDetector(self.settings.detector), output_size=self._runtime.input_size
        )

    def _prepare_request(
        self, request: Any, aligner: Any
    ) -> tuple[np.ndarray, np.ndarray, tuple[float, ...] | None]:
        """Decode (bytes) or take (RGB pixels) both frames → check → align → preprocess:
        :meth:`Runtime.prepare`, the steps of ``Runtime.predict``, with this instance's own
        aligner (no shared lock)."""
        frames, color = [], "rgb"
        for which in ("onset", "apex"):
            found = _first(request, (f"{which}_image", f"{which}_pixels"))
            if found is None:
                raise InputError(
                    f"send {which}_image (encoded file bytes) or {which}_pixels (H×W×3 RGB uint8)"
                )
            name, value = found
            if name.endswith("_image"):
                frames.append(bytes(value.reshape(-1)[0]))  # decoded to BGR by prepare
            else:
                frames.append(np.ascontiguousarray(value))
        on, ap = frames
        if isinstance(on, bytes) != isinstance(ap, bytes):
            raise InputError("send both frames as images or both as pixels, not one of each")
        if isinstance(on, bytes):
            color = "bgr"  # ignored for bytes: decoded frames are BGR
        on_t, ap_t, box, _ = self._runtime.prepare(on, ap, color, aligner=aligner)  # type: ignore[arg-type]
        return on_t, ap_t, box

    def _pair_function(self) -> Any:
        """The ``mmnet_pair`` function of one instance (each with its own aligner)."""
        aligner = self._make_aligner()
        names = self._runtime.class_names

        def infer_pairs(requests: list[Any]) -> list[dict[str, np.ndarray]]:
            responses = []
            for request in requests:
                try:
                    on_t, ap_t, box = self._prepare_request(request, aligner)
                    logits = self._run_through_tensor_model(on_t, ap_t)[0]
                except Exception as exc:  # noqa: BLE001 - the request's fault → its reply
                    reply = _refuse(PAIR_MODEL, exc)
                    if reply is None:
                        raise  # the server's fault: Triton answers INTERNAL (500)
                    nan = np.full(len(names), np.nan, np.float32)
                    responses.append(
                        {
                            "label": np.array([b""], dtype=object),
                            "index": np.array([-1], dtype=np.int32),
                            "logits": nan,
                            "probabilities": nan,
                            "face_box": np.full(4, np.nan, np.float32),
                            **_reply_outputs(reply),
                        }
                    )
                    continue
                probs = softmax(logits[None])[0]
                idx = int(probs.argmax())
                responses.append(
                    {
                        "label": np.array([names[idx].encode()], dtype=object),
                        "index": np.array([idx], dtype=np.int32),
                        "logits": logits.astype(np.float32),
                        "probabilities": probs.astype(np.float32),
                        "face_box": np.array(box if box else [np.nan] * 4, dtype=np.float32),
                        **_reply_outputs(None),
                    }
                )
            return responses

        return infer_pairs

    def _self_check(self) -> None:
        """One zero-input inference through gRPC: outputs must come back whole."""
        size, n_cls = self._runtime.input_size, len(self._runtime.class_names)
        zeros = np.zeros((1, 3, size, size), np.float32)
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while True:
            try:
                logits = self._run_through_tensor_model(zeros, zeros)
                break
            except ValueError as exc:  # tritonclient could not reshape an empty output
                raise BackendUnavailableError(
                    f"Triton started but `{TENSOR_MODEL}` returned no output data ({exc})."
                    + numpy_hint()
                ) from exc
            except Exception as exc:  # noqa: BLE001 - not ready yet: retry until the deadline
                if time.monotonic() > deadline:
                    raise BackendUnavailableError(
                        f"Triton did not answer on {self.grpc_url}: {exc}" + numpy_hint()
                    ) from exc
                time.sleep(0.2)
        if logits.shape != (1, n_cls):
            raise BackendUnavailableError(
                f"`{TENSOR_MODEL}` returned logits of shape {logits.shape}, not (1, {n_cls})."
                + numpy_hint()
            )
        self.stats.batch_sizes.clear()

    def describe(self) -> dict[str, Any]:
        """URLs, models and batching, for printing."""
        return {
            "model": str(self.model),
            "backend": self._runtime.backend if self._runtime else None,
            "http": self.http_url,
            "grpc": self.grpc_url,
            "metrics": self.metrics_url,
            "models": [TENSOR_MODEL, PAIR_MODEL, METADATA_MODEL],
            "max_batch": self.max_batch,
            "settings": asdict(self.settings),
        }


def serve(model: str | os.PathLike[str], settings: ServeSettings | None = None) -> None:
    """Start the server and block until SIGINT/SIGTERM."""
    server = MMNetServer(model, settings).start()
    server.wait()


__all__ = [
    "DEFAULT_MAX_BATCH",
    "METADATA_MODEL",
    "PAIR_MODEL",
    "TENSOR_MODEL",
    "MMNetServer",
    "ServeSettings",
    "import_pytriton",
    "serve",
]
