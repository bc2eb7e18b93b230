"""The ``Runner`` interface every inference backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from mmnet_edge.errors import InputError
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.preprocess import check_pair_tensors


@runtime_checkable
class Runner(Protocol):
    """``run(onset, apex) -> N×C logits`` on preprocessed N×3×S×S float32 tensors."""

    backend: str
    device: str
    precision: str
    metadata: ModelMetadata
    reason: str

    @property
    def input_size(self) -> int: ...

    @property
    def max_batch(self) -> int | None: ...

    def run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...


class BaseRunner:
    """Shared validation, batching limits and lifetime handling."""

    backend = "base"

    def __init__(self, metadata: ModelMetadata, device: str, precision: str) -> None:
        self.metadata = metadata
        self.device = device
        self.precision = precision
        self.reason = ""
        self._closed = False

    @property
    def input_size(self) -> int:
        return self.metadata.input_size

    @property
    def max_batch(self) -> int | None:
        return None  # no limit

    def run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        if self._closed:
            raise InputError(f"the {self.backend} runner is closed")
        check_pair_tensors(onset, apex, self.input_size)
        limit = self.max_batch
        if limit is not None and onset.shape[0] > limit:
            raise InputError(
                f"batch {onset.shape[0]} exceeds this model's max batch {limit}; split the input "
                "or rebuild the engine with a larger --batch profile"
            )
        return self._run(np.ascontiguousarray(onset), np.ascontiguousarray(apex))

    def _run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._release()

    def _release(self) -> None:
        """Free backend resources (override)."""

    def __enter__(self):  # noqa: ANN204
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device!r}, precision={self.precision!r})"
