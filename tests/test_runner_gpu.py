"""GPU runners: PyTorch CUDA (FP16, CUDA graphs) and native TensorRT engines.

Every test here needs a CUDA device (and TensorRT for the engine tests); they skip with
the reason elsewhere. Nothing is mocked: these run the real libraries or do not run.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from mmnet_edge.artifacts.platform import gpu_facts
from mmnet_edge.errors import BackendUnavailableError, EngineCompatibilityError, InputError
from mmnet_edge.runtime import open_runner

torch = pytest.importorskip("torch")
HAS_CUDA = bool(torch.cuda.is_available())
HAS_CUDA_RT = bool(gpu_facts(0))  # what TensorRT decisions use (cuda-python), never torch
HAS_TRT = importlib.util.find_spec("tensorrt") is not None
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device (torch.cuda unavailable)")
needs_trt = pytest.mark.skipif(
    not (HAS_TRT and HAS_CUDA_RT),
    reason="TensorRT and a CUDA device seen by cuda-python are needed",
)
S = 112


def pair(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    on = rng.standard_normal((n, 3, S, S), dtype=np.float32)
    return on, (on + 0.1 * rng.standard_normal(on.shape, dtype=np.float32)).astype(np.float32)


def test_engine_without_tensorrt_names_the_extra(tmp_path):
    if HAS_TRT:
        pytest.skip("TensorRT is installed here")
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"\0" * 64)
    with pytest.raises(BackendUnavailableError, match=r"mmnet-edge\[tensorrt\]"):
        open_runner(engine)


@pytest.mark.gpu
@needs_cuda
def test_torch_cuda_fp32_fp16_and_graph_agree_with_cpu(tiny_checkpoint):
    on, ap = pair(4)
    with open_runner(tiny_checkpoint, device="cpu") as cpu:
        ref = cpu.run(on, ap)
    with open_runner(tiny_checkpoint, device="cuda") as gpu:
        assert gpu.device == "cuda:0"
        np.testing.assert_allclose(gpu.run(on, ap), ref, atol=2e-3, rtol=1e-2)
    with open_runner(tiny_checkpoint, device="cuda", precision="fp16") as half:
        got = half.run(on, ap)
        assert got.dtype == np.float32 and (got.argmax(1) == ref.argmax(1)).mean() >= 0.75
    with open_runner(tiny_checkpoint, device="cuda", cuda_graph=True) as graphed:
        first = graphed.run(on, ap)
        np.testing.assert_allclose(first, ref, atol=2e-3, rtol=1e-2)
        # replays use fresh inputs, not the captured ones
        on2, ap2 = pair(4, seed=5)
        want = cpu_ref(tiny_checkpoint, on2, ap2)
        np.testing.assert_allclose(graphed.run(on2, ap2), want, atol=2e-3, rtol=1e-2)
        graphed.run(on[:1], ap[:1])  # another batch size gets its own graph


def cpu_ref(ckpt, on, ap):
    with open_runner(ckpt, device="cpu") as r:
        return r.run(on, ap)


@pytest.fixture(scope="module")
def engine(tiny_checkpoint, tmp_path_factory):
    if not (HAS_TRT and HAS_CUDA_RT):
        pytest.skip("TensorRT and a CUDA device seen by cuda-python are needed")
    from mmnet_edge.export.engine_build import build_engine
    from mmnet_edge.export.engine_options import EngineOptions
    from mmnet_edge.export.onnx import export_onnx

    d = tmp_path_factory.mktemp("trt")
    onnx_path = export_onnx(tiny_checkpoint, d / "model.onnx").path
    res = build_engine(onnx_path, d / "model.engine", EngineOptions("fp32", batch=(1, 2, 4)))
    return res.path, onnx_path


@pytest.mark.tensorrt
@needs_trt
def test_tensorrt_runner_matches_onnxruntime(engine):
    path, onnx_path = engine
    on, ap = pair(4, seed=3)
    with open_runner(path) as trt_r, open_runner(onnx_path, device="cpu") as ort_r:
        assert trt_r.backend == "tensorrt" and trt_r.max_batch == 4
        for n in (1, 3, 4):  # dynamic batch within the profile
            got, want = trt_r.run(on[:n], ap[:n]), ort_r.run(on[:n], ap[:n])
            np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-3)
        with pytest.raises(InputError, match="max batch 4"):
            trt_r.run(np.concatenate([on, on[:1]]), np.concatenate([ap, ap[:1]]))
    with open_runner(path, cuda_graph=True) as graphed, open_runner(path) as plain:
        for seed in (1, 2):
            x = pair(2, seed)
            np.testing.assert_allclose(graphed.run(*x), plain.run(*x), atol=1e-5)


@pytest.mark.tensorrt
@needs_trt
def test_tensorrt_refuses_foreign_or_broken_engines(engine, tmp_path):
    path, _ = engine
    side = json.loads(path.with_name(path.name + ".json").read_text())
    foreign = tmp_path / "foreign.engine"
    foreign.write_bytes(path.read_bytes())
    side_foreign = dict(side, gpu={"name": "Other GPU", "compute_capability": "5.3"})
    foreign.with_name(foreign.name + ".json").write_text(json.dumps(side_foreign))
    with pytest.raises(EngineCompatibilityError, match="compute capability"):
        open_runner(foreign)
    broken = tmp_path / "broken.engine"
    broken.write_bytes(b"\0" * 1024)
    broken.with_name(broken.name + ".json").write_text(json.dumps(side))
    with pytest.raises(EngineCompatibilityError, match="deserialize"):
        open_runner(broken)
    with pytest.raises(EngineCompatibilityError, match="built for fp32"):
        open_runner(path, precision="fp16")
