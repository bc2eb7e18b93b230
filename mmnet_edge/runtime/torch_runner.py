"""PyTorch backend (CPU / CUDA, FP32 / FP16, optional CUDA graph)."""

from __future__ import annotations

import os

import numpy as np

from mmnet_edge.errors import BackendUnavailableError
from mmnet_edge.runtime.runner import BaseRunner


class TorchRunner(BaseRunner):
    backend = "torch"

    def __init__(
        self,
        checkpoint: str | os.PathLike[str],
        device: str | None = None,
        precision: str | None = None,
        cuda_graph: bool = False,
        threads: int | None = None,
    ) -> None:
        import torch

        from mmnet_edge.checkpoint import load_checkpoint

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailableError(
                "torch backend: CUDA requested but torch.cuda.is_available() is False; install a "
                "CUDA build of torch or use device='cpu'"
            )
        precision = precision or "fp32"
        if precision not in ("fp32", "fp16"):
            raise BackendUnavailableError(
                f"torch backend runs fp32 or fp16, not {precision}; use onnxruntime for int8"
            )
        if precision == "fp16" and not device.startswith("cuda"):
            raise BackendUnavailableError(
                "torch FP16 needs a CUDA device (CPU half-precision convolutions are slow and "
                "inexact); use precision='fp32' on CPU"
            )
        if threads:
            torch.set_num_threads(threads)
        ckpt = load_checkpoint(checkpoint, map_location="cpu")
        super().__init__(ckpt.metadata, device, precision)
        self._torch = torch
        self.model = ckpt.model.to(device)
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        if precision == "fp16":
            self.model = self.model.half()
        self.cuda_graph = cuda_graph and device.startswith("cuda")
        self._graphs: dict[int, tuple[object, object, object, object]] = {}

    def _graph_for(self, batch: int):  # noqa: ANN202 - CUDA-only path
        torch = self._torch
        if batch not in self._graphs:
            s = self.input_size
            static_on = torch.zeros(batch, 3, s, s, device=self.device, dtype=self.dtype)
            static_ap = torch.zeros_like(static_on)
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream), torch.inference_mode():
                for _ in range(3):  # warm up on a side stream before capture
                    self.model(static_on, static_ap)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph), torch.inference_mode():
                static_out = self.model(static_on, static_ap)
            self._graphs[batch] = (graph, static_on, static_ap, static_out)
        return self._graphs[batch]

    def _run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        torch = self._torch
        on = torch.from_numpy(onset).to(self.device, self.dtype, non_blocking=True)
        ap = torch.from_numpy(apex).to(self.device, self.dtype, non_blocking=True)
        if self.cuda_graph:
            graph, s_on, s_ap, s_out = self._graph_for(on.shape[0])
            s_on.copy_(on)
            s_ap.copy_(ap)
            graph.replay()
            out = s_out
        else:
            with torch.inference_mode():
                out = self.model(on, ap)
        return out.float().cpu().numpy()

    def _release(self) -> None:
        self._graphs.clear()
        self.model = None  # type: ignore[assignment]
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()
