"""ONNX Runtime on GPU: provider options, and one device decision for file and runner.

``onnxruntime-gpu`` is simulated by patching ``onnxruntime.get_available_providers`` and
wrapping ``InferenceSession`` (a real CPU session that reports the providers it was asked
for, or only the CPU when the GPU provider "failed to start"). Nothing runs on a GPU.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import onnxruntime
import pytest

from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
from mmnet_edge.artifacts.onnx_props import write_onnx_metadata
from mmnet_edge.errors import BackendUnavailableError
from mmnet_edge.runtime.loader import open_runner
from mmnet_edge.runtime.ort_runner import providers_for, tensorrt_provider_options
from tests.trt_doubles import write_tiny_onnx

GPU = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_tensorrt_provider_gets_precision_and_caches(tmp_path):
    opts = tensorrt_provider_options(tmp_path / "model.int8.onnx", "int8")
    assert opts["trt_int8_enable"] == "True" and opts["trt_fp16_enable"] == "True"
    assert opts["trt_engine_cache_enable"] == opts["trt_timing_cache_enable"] == "True"
    assert Path(opts["trt_engine_cache_path"]).parent == tmp_path
    fp32 = tensorrt_provider_options(tmp_path / "model.onnx", "fp32")
    assert fp32["trt_fp16_enable"] == "False" and fp32["trt_int8_enable"] == "False"


def test_providers_for_a_cuda_device_carry_its_index_and_options(tmp_path):
    got = providers_for("cuda:1", GPU, "fp16", model=tmp_path / "model.fp16.onnx")
    (trt_name, trt_opts), (cuda_name, cuda_opts), cpu = got
    assert (trt_name, cuda_name, cpu) == (*GPU[:2], "CPUExecutionProvider")
    assert trt_opts["device_id"] == cuda_opts["device_id"] == "1"
    assert trt_opts["trt_fp16_enable"] == "True"
    user = providers_for("cuda:0", GPU, "fp32", {"CUDAExecutionProvider": {"x": "1"}})
    assert user[1][1]["x"] == "1"
    assert providers_for("cpu", GPU) == ["CPUExecutionProvider"]


@pytest.fixture
def onnx_variants(tmp_path) -> Path:
    base = write_tiny_onnx(tmp_path / "model.onnx")
    for name, target in (("model.int8.onnx", "tensorrt"), ("model.int8-cpu.onnx", "cpu")):
        shutil.copy(base, tmp_path / name)  # stands in for the target's Q/DQ file
        meta = read_onnx_metadata(tmp_path / name)
        meta.extra = {**meta.extra, "int8_target": target}  # as the quantizer records it
        write_onnx_metadata(tmp_path / name, meta)
    return base


@pytest.fixture
def fake_gpu_ort(monkeypatch):
    """onnxruntime-gpu whose sessions start the GPU providers (or, with ``fail``, don't)."""
    real = onnxruntime.InferenceSession
    state = {"available": list(GPU), "fail": False, "sessions": []}

    class Session:
        # onnxruntime.InferenceSession(path, sess_options, providers, provider_options, **kw)
        def __init__(self, path, sess_options=None, providers=None, provider_options=None, **kw):
            self._s = real(
                path, sess_options=sess_options, providers=["CPUExecutionProvider"], **kw
            )
            self.disabled_optimizers = kw.get("disabled_optimizers")
            self.requested = providers
            state["sessions"].append(self)

        def get_providers(self):
            if state["fail"]:
                return ["CPUExecutionProvider"]
            return [p if isinstance(p, str) else p[0] for p in self.requested]

        def __getattr__(self, name):
            return getattr(self._s, name)

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: state["available"])
    monkeypatch.setattr(onnxruntime, "InferenceSession", Session)
    return state


def test_default_device_with_onnxruntime_gpu_picks_tensorrt_int8_file_and_cuda(
    onnx_variants, fake_gpu_ort
):
    with open_runner(onnx_variants, precision="int8") as r:
        assert r.path.name == "model.int8.onnx" and r.device == "cuda:0"
        (name, opts), *_ = fake_gpu_ort["sessions"][-1].requested
        assert name == "TensorrtExecutionProvider" and opts["trt_int8_enable"] == "True"
        assert r.providers[0] == "TensorrtExecutionProvider"
        assert fake_gpu_ort["sessions"][-1].disabled_optimizers == []  # CPU-only tweak


def test_default_device_without_gpu_providers_picks_cpu_int8_file(onnx_variants, fake_gpu_ort):
    fake_gpu_ort["available"] = ["CPUExecutionProvider"]
    with open_runner(onnx_variants, precision="int8") as r:
        assert r.path.name == "model.int8-cpu.onnx" and r.device == "cpu"
        assert fake_gpu_ort["sessions"][-1].disabled_optimizers == ["NchwcTransformer"]


@pytest.mark.parametrize("device", ["cuda", "gpu", "cuda:0"])
def test_cuda_request_without_a_cuda_provider_says_install_onnxruntime_gpu(
    onnx_variants, fake_gpu_ort, device
):
    fake_gpu_ort["available"] = ["CPUExecutionProvider"]
    with pytest.raises(BackendUnavailableError, match="pip install onnxruntime-gpu") as err:
        open_runner(onnx_variants, backend="onnxruntime", device=device)
    assert "re-export" not in str(err.value)


def test_gpu_request_never_silently_runs_on_the_cpu(onnx_variants, fake_gpu_ort):
    fake_gpu_ort["fail"] = True  # providers listed, but the session fell back to the CPU
    with pytest.raises(BackendUnavailableError, match="could not start a GPU provider"):
        open_runner(onnx_variants, device="gpu")
