"""The runner interface every inference backend implements (Polygraphy's shape).

A runner is cheap to construct (it stores the path and options), allocates on
:meth:`~BaseRunner.activate` (session, engine, device buffers), turns *preprocessed*
tensors into logits with :meth:`~BaseRunner.run`, and releases everything on
:meth:`~BaseRunner.close`. It is a context manager (``with`` activates and closes)::

    with open_runner("model.onnx") as runner:     # open_runner returns it activated
        logits = runner.run(onset, apex)  # N×3×S×S float32 each → N×C float32

Each runner class declares, as class data, the files it opens, the devices and
precisions it runs, the libraries it needs and the pip extra that installs them;
:func:`~mmnet_edge.runtime.loader.open_runner`, ``bench`` and ``doctor`` read these.

Contract shared by every backend (:class:`BaseRunner` enforces it):

* inputs are validated with :func:`mmnet_edge.preprocess.check_pair_tensors`; a wrong
  dtype, shape, channel count or mismatched pair raises :class:`InputError`;
* a batch larger than ``max_batch`` raises :class:`InputError` (never split silently;
  use ``Runtime.predict_batch`` or :func:`run_chunked`);
* logits that are not finite raise :class:`NonFiniteOutputError`, never a label;
* ``close()`` is idempotent, waits for calls in flight, and any ``run`` after it raises
  :class:`RunnerClosedError` (an :class:`InputError`);
* ``run`` is thread-safe: backends whose state is not re-entrant set ``serialize_runs``.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from mmnet_edge.artifacts.formats import RUN_PRECISIONS
from mmnet_edge.artifacts.platform import cpu_bf16_reason
from mmnet_edge.errors import BackendUnavailableError, InputError, NonFiniteOutputError
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.preprocess import check_pair_tensors


class RunnerClosedError(InputError):
    """``run`` was called on a runner after ``close()``."""


@runtime_checkable
class Runner(Protocol):
    """``run(onset, apex) -> N×C logits`` on preprocessed N×3×S×S float32 tensors."""

    backend: str
    device: str
    precision: str
    reason: str

    @property
    def metadata(self) -> ModelMetadata: ...

    @property
    def input_size(self) -> int: ...

    @property
    def max_batch(self) -> int | None: ...

    def activate(self) -> Runner: ...

    def run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...


def normalize_device(device: str | None) -> str | None:
    """``None``/``cpu``/``cuda``/``cuda:N``/``gpu`` → ``None``/``cpu``/``cuda:N``."""
    if device is None:
        return None
    d = str(device).strip().lower()
    if d == "cpu":
        return "cpu"
    if d in ("cuda", "gpu"):
        return "cuda:0"
    if d.startswith("cuda:") and d[5:].isdigit():
        return d
    raise InputError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'")


def device_index(device: str) -> int:
    """CUDA ordinal of ``cuda:N`` (0 for ``cuda``)."""
    return int(device.split(":", 1)[1]) if ":" in device else 0


def has_module(name: str) -> bool:
    """True when ``name`` is importable here (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


class BaseRunner:
    """Shared lifecycle, validation, batching limits, locking and class data."""

    #: backend name (``torch``, ``onnxruntime``, ``openvino``, ``tensorrt``)
    backend: ClassVar[str] = "base"
    #: how people call it
    display_name: ClassVar[str] = "base"
    #: artefact containers this runner opens (see :mod:`mmnet_edge.artifacts.formats`)
    containers: ClassVar[tuple[str, ...]] = ()
    #: device kinds it can run on (``cpu``, ``cuda``)
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    #: precisions it runs, per device kind
    precisions: ClassVar[dict[str, tuple[str, ...]]] = {"cpu": ("fp32",)}
    #: why a (precision, device kind) pair is not run, where the reason is worth saying
    unsupported_notes: ClassVar[dict[tuple[str, str], str]] = {}
    #: importable modules it needs; any one of each tuple is enough
    requires: ClassVar[tuple[tuple[str, ...], ...]] = ()
    #: the pip extra that installs them
    extra: ClassVar[str] = ""
    #: set by subclasses whose ``_run`` must not be entered by two threads at once
    serialize_runs: bool = False

    def __init__(
        self, path: str | os.PathLike[str], device: str | None = None, precision: str | None = None
    ) -> None:
        if precision is not None and precision not in RUN_PRECISIONS:
            raise InputError(f"unknown precision {precision!r}; use one of {RUN_PRECISIONS}")
        self.path = Path(path)
        self.device = normalize_device(device) or "cpu"
        if precision == "bf16":  # computed, not a file: the backend and this CPU must have it
            why = type(self).supports("bf16", self.device)
            if why:
                raise BackendUnavailableError(why)
        self.precision = precision or "fp32"
        self.reason = ""
        self._metadata: ModelMetadata | None = None
        self._active = False
        self._closed = False
        self._lock = threading.Lock()  # serialises runs where needed
        self._state = threading.Condition()  # in-flight count for close()
        self._in_flight = 0

    # ------------------------------------------------------------- class data
    @classmethod
    def unavailable_reason(cls) -> str:
        """``""`` when the libraries this backend needs are importable, else what to install."""
        missing = [" or ".join(alts) for alts in cls.requires if not any(map(has_module, alts))]
        if not missing:
            return ""
        how = f"pip install 'mmnet-edge[{cls.extra}]'" if cls.extra else "pip install mmnet-edge"
        return f"{cls.display_name} not installed (missing {', '.join(missing)}): {how}"

    @classmethod
    def supports(cls, precision: str, device: str) -> str:
        """``""`` if this backend runs ``precision`` on ``device`` (cpu/cuda:N), else why."""
        kind = "cuda" if device.startswith("cuda") else "cpu"
        if kind not in cls.devices:
            return f"{cls.backend} does not run on {kind}"
        if precision not in cls.precisions.get(kind, ()):
            if (precision, kind) in cls.unsupported_notes:
                return cls.unsupported_notes[(precision, kind)]
            runs = ", ".join(cls.precisions.get(kind, ()))
            return f"{cls.backend} on {kind} runs {runs}, not {precision}"
        if precision == "bf16" and kind == "cpu":
            return cpu_bf16_reason()
        return ""

    # --------------------------------------------------------------- lifecycle
    @property
    def is_active(self) -> bool:
        return self._active and not self._closed

    def activate(self) -> BaseRunner:
        """Load the model and allocate (idempotent); returns ``self``."""
        if self._closed:
            raise RunnerClosedError(f"this {self.backend} runner is closed; open a new one")
        if not self._active:
            self._activate()
            self._active = True
        return self

    def _activate(self) -> None:  # pragma: no cover - every backend overrides it
        raise NotImplementedError

    @property
    def metadata(self) -> ModelMetadata:
        """The model's metadata (read from the file without activating, if needed)."""
        if self._metadata is None:
            from mmnet_edge.artifacts.metadata_io import read_metadata

            self._metadata = read_metadata(self.path)
        return self._metadata

    @metadata.setter
    def metadata(self, value: ModelMetadata) -> None:
        self._metadata = value

    @property
    def input_size(self) -> int:
        return self.metadata.input_size

    @property
    def num_classes(self) -> int:
        return self.metadata.config.num_classes

    @property
    def max_batch(self) -> int | None:
        return None  # no limit

    @property
    def closed(self) -> bool:
        return self._closed

    def run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        """N×C float32 logits for N preprocessed onset/apex pairs."""
        with self._state:
            if self._closed:
                raise RunnerClosedError(
                    f"this {self.backend} runner is closed; open a new one with open_runner(...)"
                )
            if not self._active:
                raise InputError(f"this {self.backend} runner is not active: call activate()")
            self._in_flight += 1
        try:
            check_pair_tensors(onset, apex, self.input_size)
            n = onset.shape[0]
            if n == 0:
                raise InputError("empty batch: pass at least one onset/apex pair")
            limit = self.max_batch
            if limit is not None and n > limit:
                raise InputError(
                    f"batch {n} exceeds this model's max batch {limit}; split the input "
                    "(Runtime.predict_batch does) or rebuild with a larger --batch profile"
                )
            onset, apex = np.ascontiguousarray(onset), np.ascontiguousarray(apex)
            if self.serialize_runs:
                with self._lock:
                    logits = self._run(onset, apex)
            else:
                logits = self._run(onset, apex)
        finally:
            with self._state:
                self._in_flight -= 1
                self._state.notify_all()
        if not np.isfinite(logits).all():
            raise NonFiniteOutputError(
                f"{self.backend} produced non-finite logits for {self.path.name}: the weights "
                "may be corrupt (re-export from a good checkpoint) or a reduced precision "
                "overflowed (try fp32)"
            )
        return logits

    def _run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        """Wait for calls in flight, then release the model and device memory (idempotent)."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            while self._in_flight:
                self._state.wait()
        if self._active:
            self._release()
        self._active = False

    def _release(self) -> None:
        """Free backend resources (override)."""

    def describe(self) -> dict[str, object]:
        """What this runner is: for logs, ``bench`` reports and ``predict --json``."""
        return {
            "backend": self.backend,
            "device": self.device,
            "precision": self.precision,
            "model": str(self.path),
            "input_size": self.input_size,
            "max_batch": self.max_batch,
            "reason": self.reason,
        }

    def __enter__(self):  # noqa: ANN204
        return self.activate()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # best effort: device memory must not leak with the object
        try:
            if getattr(self, "_active", False) and not getattr(self, "_closed", True):
                self.close()
        except Exception:  # noqa: BLE001, S110 - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self.path)!r}, device={self.device!r}, "
            f"precision={self.precision!r}, active={self.is_active})"
        )


def missing_backend(cls: type[BaseRunner]) -> BackendUnavailableError:
    """The typed error for a backend whose libraries are not installed."""
    return BackendUnavailableError(cls.unavailable_reason() or f"{cls.backend} is unavailable")


def run_chunked(runner: Runner, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
    """``runner.run`` over any batch size, in chunks of at most ``runner.max_batch``."""
    limit = runner.max_batch or onset.shape[0] or 1
    if onset.shape[0] <= limit:
        return runner.run(onset, apex)
    parts = [
        runner.run(onset[i : i + limit], apex[i : i + limit])
        for i in range(0, onset.shape[0], limit)
    ]
    return np.concatenate(parts, axis=0)
