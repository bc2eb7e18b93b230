"""ONNX Runtime backend (CPU; CUDA / TensorRT execution providers with onnxruntime-gpu)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mmnet_edge.errors import BackendUnavailableError, CheckpointError
from mmnet_edge.metadata import metadata_from_props
from mmnet_edge.runtime.runner import BaseRunner


def import_ort():  # noqa: ANN201
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendUnavailableError(
            "onnxruntime is not installed: pip install onnxruntime (or onnxruntime-gpu)"
        ) from exc
    return ort


def providers_for(device: str, available: list[str]) -> list[str]:
    """Execution providers in preference order for ``device``."""
    if device.startswith("cuda"):
        wanted = [
            p for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider") if p in available
        ]
        if not wanted:
            raise BackendUnavailableError(
                "onnxruntime has no CUDA provider here (providers: "
                f"{', '.join(available)}); pip install onnxruntime-gpu, or use device='cpu'"
            )
        return [*wanted, "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class OrtRunner(BaseRunner):
    backend = "onnxruntime"

    def __init__(
        self,
        path: str | os.PathLike[str],
        device: str | None = None,
        precision: str | None = None,
        threads: int | None = None,
        spin: bool = False,
    ) -> None:
        ort = import_ort()
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"ONNX model not found: {path}")
        available = list(ort.get_available_providers())
        device = device or ("cuda" if "CUDAExecutionProvider" in available else "cpu")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        # Idle ORT worker threads busy-wait by default; on a small CPU shared with alignment,
        # other models or a robot stack that steals cores from everyone else. Opt in with spin.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        try:
            self.session = ort.InferenceSession(
                str(path), sess_options=opts, providers=providers_for(device, available)
            )
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
            raise CheckpointError(
                f"{path}: ONNX Runtime cannot load this model ({str(exc)[:300]}); re-export it "
                "with `mmnet-edge export --format onnx`"
            ) from exc
        props = dict(self.session.get_modelmeta().custom_metadata_map)
        meta = metadata_from_props(props, source=str(path))
        super().__init__(meta, device, precision or meta.precision)
        self.path = path
        names = [i.name for i in self.session.get_inputs()]
        if sorted(names) != ["apex", "onset"]:
            raise CheckpointError(f"{path}: inputs {names}, expected 'onset' and 'apex'")
        batch_dim = self.session.get_inputs()[0].shape[0]
        self._max_batch = batch_dim if isinstance(batch_dim, int) else None
        self.providers = self.session.get_providers()

    @property
    def max_batch(self) -> int | None:
        return self._max_batch

    def _run(self, onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
        (logits,) = self.session.run(["logits"], {"onset": onset, "apex": apex})
        return np.asarray(logits, dtype=np.float32)

    def _release(self) -> None:
        self.session = None  # type: ignore[assignment]
