"""What the acceptance steps share (:class:`Context`: work folder, facts found, artefacts built)
and how a step says it cannot run here (:class:`Skip`, with the reason)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


class Skip(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a step that cannot run here; the message is the reason."""


class Context:
    """What the steps share: a work folder, the facts found, the artefacts built so far."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.gpu: dict[str, Any] = {}
        self.no_gpu_reason = "no CUDA device (cuda-python's cudaGetDeviceCount found none)"
        self.torch_cuda = False
        self.trt: Any = None
        self.checkpoint: Path | None = None
        self.onnx: Path | None = None
        self.engines: dict[str, Path] = {}
        self.timings: dict[str, float] = {}

    def load_tensorrt(self) -> None:
        from mmnet_edge.artifacts.platform import import_tensorrt

        self.trt = import_tensorrt()

    # prerequisites, each a Skip with the reason when missing
    def need_gpu(self) -> None:
        if not self.gpu:
            raise Skip(self.no_gpu_reason)

    def need_trt(self) -> Any:
        self.need_gpu()
        if self.trt is None:
            raise Skip("TensorRT is not installed (pip install 'mmnet-edge[tensorrt]')")
        return self.trt

    def need_onnx(self) -> Path:
        if self.onnx is None:
            raise Skip("no ONNX model: the model step did not run (needs the [train] extra)")
        return self.onnx

    def need_engine(self, key: str) -> Path:
        if key not in self.engines:
            raise Skip(f"no {key} engine: its build step did not pass")
        return self.engines[key]

    def inputs(self, n: int = 32) -> list[tuple[np.ndarray, np.ndarray]]:
        from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
        from mmnet_edge.preprocess import heldout_batches

        meta = read_onnx_metadata(self.need_onnx())
        return heldout_batches(meta, n=n)


Step = Callable[[Context], "str | tuple[str, dict[str, Any]]"]
