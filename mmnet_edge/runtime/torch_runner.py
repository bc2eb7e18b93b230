"""PyTorch backend (CPU / CUDA, FP32 / BF16 / FP16, optional CUDA graph) — the ``[train]`` extra.

* FP16 runs on CUDA only: on a CPU it raises :class:`BackendUnavailableError` rather
  than fall back silently (CPU half-precision convolutions are slow and inexact).
* BF16 keeps the FP32 weights and runs under ``torch.autocast(dtype=torch.bfloat16)``
  (convolutions and matmuls in bfloat16, reductions in float32); on a CPU only where it
  has bf16 instructions (``avx512_bf16``/AMX: ``artifacts.platform.cpu_bf16_reason``).
* ``cuda_graph=True`` captures one CUDA graph per batch size on first use (after a
  warm-up on a side stream) and replays it; inputs are copied into the graph's static
  buffers, so such runs are serialised with a lock. Ignored on CPU.
* ``threads`` calls ``torch.set_num_threads``, which is **process-wide** in PyTorch: it
  changes every torch computation in the process, not only this runner (logged once).
"""

from __future__ import annotations

import logging
import os
from typing import Any, ClassVar

import numpy as np

from mmnet_edge.errors import BackendUnavailableError, InputError
from mmnet_edge.runtime.runner import BaseRunner

log = logging.getLogger(__name__)


def import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailableError(
            "PyTorch is not installed: pip install 'mmnet-edge[train]' (or open the exported "
            ".onnx with backend='onnxruntime', which needs no torch)"
        ) from exc
    return torch


class TorchRunner(BaseRunner):
    """A ``.safetensors`` checkpoint on PyTorch eager (``torch.inference_mode``)."""

    backend: ClassVar[str] = "torch"
    display_name: ClassVar[str] = "PyTorch"
    containers: ClassVar[tuple[str, ...]] = ("checkpoint",)
    devices: ClassVar[tuple[str, ...]] = ("cpu", "cuda")
    precisions: ClassVar[dict[str, tuple[str, ...]]] = {
        "cpu": ("fp32", "bf16"),  # CPU half-precision convolutions are slow and inexact
        "cuda": ("fp32", "bf16", "fp16"),
    }
    unsupported_notes: ClassVar[dict[tuple[str, str], str]] = {
        ("fp16", "cpu"): "torch FP16 needs a CUDA device (CPU half precision is slow, inexact)",
        ("int8", "cpu"): "torch eager has no INT8 path: run the INT8 ONNX on ORT/TensorRT",
        ("int8", "cuda"): "torch eager has no INT8 path: run the INT8 ONNX on ORT/TensorRT",
    }
    requires: ClassVar[tuple[tuple[str, ...], ...]] = (("torch",),)
    extra: ClassVar[str] = "train"

    def __init__(
        self,
        checkpoint: str | os.PathLike[str],
        device: str | None = None,
        precision: str | None = None,
        cuda_graph: bool = False,
        threads: int | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__(checkpoint, device or "cpu", precision or "fp32")
        if self.precision == "int8":
            raise BackendUnavailableError(
                "the torch backend runs fp32, bf16 or fp16, not int8; for INT8 export to ONNX, "
                "calibrate, and use onnxruntime or tensorrt"
            )
        if self.precision == "fp16" and not self.device.startswith("cuda"):
            raise BackendUnavailableError(
                "torch FP16 needs a CUDA device (CPU half-precision convolutions are slow and "
                "inexact); use precision='fp32' on CPU"
            )
        if threads is not None and int(threads) < 1:
            raise InputError(f"threads must be ≥ 1, not {threads}")
        self.threads = threads
        self.channels_last = channels_last
        self.cuda_graph = bool(cuda_graph and self.device.startswith("cuda"))
        if cuda_graph and not self.cuda_graph:
            log.info("cuda_graph ignored: the torch runner is on the CPU")
        self.serialize_runs = self.cuda_graph
        self.model: Any = None
        self._graphs: dict[int, tuple[Any, Any, Any, Any]] = {}

    def _activate(self) -> None:
        torch = import_torch()
        from mmnet_edge.checkpoint import load_checkpoint

        on_cuda = self.device.startswith("cuda")
        if on_cuda and not torch.cuda.is_available():
            raise BackendUnavailableError(
                "torch backend: CUDA requested but torch.cuda.is_available() is False; install a "
                "CUDA build of torch or use device='cpu'"
            )
        if on_cuda and int(self.device.split(":")[1]) >= torch.cuda.device_count():
            raise BackendUnavailableError(
                f"torch backend: {self.device} requested but only {torch.cuda.device_count()} "
                "CUDA device(s) are visible"
            )
        if self.threads:
            if torch.get_num_threads() != int(self.threads):
                log.info("torch.set_num_threads(%s) applies to the whole process", self.threads)
            torch.set_num_threads(int(self.threads))
        ckpt = load_checkpoint(self.path, map_location="cpu")
        self.metadata = ckpt.metadata
        self._torch = torch
        self.dtype = torch.float16 if self.precision == "fp16" else torch.float32
        model = ckpt.model.to(device=self.device, dtype=self.dtype).eval()
        self._memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model

    def _forward(self, on: Any, ap: Any) -> Any:
        """The model's forward pass, under bfloat16 autocast for ``precision="bf16"``."""
        if self.precision != "bf16":
            return self.model(on, ap)
        kind = "cuda" if self.device.startswith("cuda") else "cpu"
        with self._torch.autocast(kind, dtype=self._torch.bfloat16):
            return self.model(on, ap)

    def _graph_for(self, batch: int) -> tuple[Any, Any, Any, Any]:
        """(graph, static onset, static apex, static logits) for ``batch`` (CUDA only)."""
        torch = self._torch
        if batch not in self._graphs:
            s = self.input_size
            static_on = torch.zeros(batch, 3, s, s, device=self.device, dtype=self.dtype)
            static_ap = torch.zeros_like(static_on)
            side = torch.cuda.Stream(device=self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side), torch.inference_mode():
                for _ in range(3):  # warm up (cuDNN autotune, allocator) before capture
                    self._forward(static_on, static_ap)
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.inference_mode(), torch.cuda.graph(graph):
                static_out = self._forward(static_on, static_ap)
            self._graphs[batch] = (graph, static_on, static_ap, static_out)
        return self._graphs[batch]

    def _to_device(self, array: np.ndarray) -> Any:
        t = self._torch.from_numpy(array)
        if self.device.startswith("cuda"):
            t = t.pin_memory().to(self.device, non_blocking=True)
        return t.to(dtype=self.dtype, memory_format=self._memory_format)

    def _run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        torch = self._torch
        try:
            with torch.inference_mode():
                on, ap = self._to_device(onset), self._to_device(apex)
                if self.cuda_graph:
                    graph, s_on, s_ap, s_out = self._graph_for(on.shape[0])
                    s_on.copy_(on)
                    s_ap.copy_(ap)
                    graph.replay()
                    out = s_out
                else:
                    out = self._forward(on, ap)
                return out.float().cpu().numpy()
        except torch.cuda.OutOfMemoryError as exc:
            raise InputError(
                f"CUDA out of memory at batch {onset.shape[0]} ({exc}); use a smaller batch"
            ) from exc

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "cuda_graph": self.cuda_graph}

    def _release(self) -> None:
        self._graphs.clear()
        self.model = None
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()
