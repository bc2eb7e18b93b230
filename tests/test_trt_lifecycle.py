"""TensorRT / CUDA control flow on CPU, through test doubles (``tests/trt_doubles.py``).

The doubles follow the real calling conventions, checked against NVIDIA's sources and
samples (TensorRT ``python/src/infer/pyCore.cpp`` at 8.6.1 / 10.3 / 10.16 / 11.x,
``samples/python/common_runtime.py``, trtexec ``sampleEngines.cpp``, Polygraphy
``backend/trt``, cuda-python's ``(err, value)`` tuples, ``pycuda/autoprimaryctx.py``):
see that module's docstring. These tests prove the build flow per TensorRT version path,
the runner lifecycle (allocate → runs → batch change → close), device/context handling,
DLA rules and the legacy calibrator's feeding and cache. They do NOT prove anything runs
on a GPU: that is what ``mmnet-edge doctor --acceptance`` is for.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from mmnet_edge.artifacts.manifests import read_engine_manifest
from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
from mmnet_edge.artifacts.onnx_props import write_onnx_metadata
from mmnet_edge.artifacts.platform import check_engine_compatibility, gpu_facts
from mmnet_edge.calibration.dataset import CalibrationSet
from mmnet_edge.calibration.legacy import free_calibrator, make_entropy_calibrator
from mmnet_edge.errors import (
    BackendExecutionError,
    BackendUnavailableError,
    CalibrationError,
    EngineCompatibilityError,
    ExportError,
    InputError,
)
from mmnet_edge.export.engine_build import build_engine, count_dla_layers
from mmnet_edge.export.engine_options import EngineOptions
from mmnet_edge.runtime.cuda_buffers import CudaPythonBuffers, PyCudaBuffers
from mmnet_edge.runtime.runner import RunnerClosedError
from mmnet_edge.runtime.trt_runner import TrtRunner
from tests.trt_doubles import (
    FakeCudart,
    FakeGpu,
    FakePyCudaDriver,
    make_tensorrt,
    reference_logits,
    write_tiny_onnx,
)

ORIN = {"name": "Orin", "cc": (8, 7), "integrated": True}
RTX = {"name": "NVIDIA GeForce RTX 3060", "cc": (8, 6), "integrated": False}
L4 = {"name": "NVIDIA L4", "cc": (8, 9), "integrated": False}
pytestmark = pytest.mark.filterwarnings("ignore:implicit INT8 calibration:DeprecationWarning")


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("onnx")
    write_tiny_onnx(d / "model.onnx")
    write_tiny_onnx(d / "model.fp16.onnx", fp16=True)
    shutil.copy(d / "model.onnx", d / "model.int8.onnx")  # the Q/DQ file's I/O is FP32
    meta = read_onnx_metadata(d / "model.int8.onnx")  # recorded as the quantizer does
    meta.extra = {**meta.extra, "int8_target": "tensorrt"}
    write_onnx_metadata(d / "model.int8.onnx", meta)
    return d / "model.onnx"


def rig(version: str, devices=(RTX,), dla_cores: int = 0):
    gpu = FakeGpu(tuple(devices), dla_cores=dla_cores)
    return gpu, FakeCudart(gpu), make_tensorrt(version, gpu)


def build(onnx, tmp_path, trt, cudart, name="model.engine", calibrator=None, **opts):
    options = EngineOptions(**{"precision": "fp16", "batch": (1, 2, 4), **opts})
    return build_engine(onnx, tmp_path / name, options, calibrator, tensorrt=trt, cudart=cudart)


def last_build(trt) -> dict:
    return json.loads([e for e in trt.events if e.startswith("build:")][-1][6:])


def pair(n: int, seed: int = 0, size: int = 112):
    rng = np.random.default_rng(seed)
    on = rng.standard_normal((n, 3, size, size), dtype=np.float32)
    return on, (on + 0.1 * rng.standard_normal(on.shape, dtype=np.float32)).astype(np.float32)


# ----------------------------------------------------------------- build per version
def test_tensorrt_8_6_builds_weakly_typed_with_explicit_batch_and_flags(onnx_files, tmp_path):
    gpu, cudart, trt = rig("8.6.1")
    res = build(onnx_files, tmp_path, trt, cudart)
    assert "create_network(1)" in trt.events  # 1 << EXPLICIT_BATCH, required by the parser
    b = last_build(trt)
    assert b["flags"] == ["FP16"] and not b["strongly_typed"] and b["source"] == "model.onnx"
    assert res.manifest.strongly_typed is False and res.manifest.tensorrt_version == "8.6.1"
    # INT8 without a calibrator: the Q/DQ model with FP16 + INT8 flags (explicit quantization)
    build(onnx_files, tmp_path, trt, cudart, "i8.engine", precision="int8")
    b = last_build(trt)
    assert b["flags"] == ["FP16", "INT8"] and b["source"] == "model.int8.onnx"
    with pytest.raises(ExportError, match="no strongly typed"):
        build(onnx_files, tmp_path, trt, cudart, strongly_typed=True)


def test_tensorrt_10_builds_strongly_typed_by_default_and_weakly_on_request(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0")
    res = build(onnx_files, tmp_path, trt, cudart)
    b = last_build(trt)
    assert "create_network(3)" in trt.events  # EXPLICIT_BATCH (no-op) | STRONGLY_TYPED
    assert b["strongly_typed"] and b["flags"] == [] and b["source"] == "model.fp16.onnx"
    assert b["dtype"] == "HALF" and res.manifest.strongly_typed is True
    build(onnx_files, tmp_path, trt, cudart, "weak.engine", strongly_typed=False)
    b = last_build(trt)
    assert not b["strongly_typed"] and b["flags"] == ["FP16"] and b["source"] == "model.onnx"


def test_tensorrt_11_is_strongly_typed_only(onnx_files, tmp_path):
    gpu, cudart, trt = rig("11.1.0")
    assert not hasattr(trt.BuilderFlag, "FP16") and not hasattr(trt, "IInt8EntropyCalibrator2")
    build(onnx_files, tmp_path, trt, cudart, precision="int8")
    b = last_build(trt)
    assert "create_network(2)" in trt.events  # STRONGLY_TYPED only: no EXPLICIT_BATCH in 11
    assert b["strongly_typed"] and b["flags"] == [] and b["source"] == "model.int8.onnx"
    with pytest.raises(ExportError, match="no precision flags"):
        build(onnx_files, tmp_path, trt, cudart, strongly_typed=False)
    with pytest.raises(ExportError, match="removed implicit INT8 calibrators"):
        build(onnx_files, tmp_path, trt, cudart, precision="int8", calibrator=object())


def test_timing_cache_is_written_and_reused(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0")
    cache_dir = tmp_path / "cache"
    build(onnx_files, tmp_path, trt, cudart, timing_cache_dir=cache_dir)
    assert trt.stats["timing_cache_hits"] == 0 and len(list(cache_dir.glob("*.timing"))) == 1
    build(onnx_files, tmp_path, trt, cudart, "again.engine", timing_cache_dir=cache_dir)
    assert trt.stats["timing_cache_hits"] == 1


def test_build_uses_the_requested_device_and_its_facts(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0", devices=(RTX, L4))
    res = build(onnx_files, tmp_path, trt, cudart, device=1)
    assert res.manifest.gpu["name"] == "NVIDIA L4" and res.manifest.gpu["device"] == 1
    assert last_build(trt)["device"] == 1  # cudaSetDevice(1) before the builder ran
    with pytest.raises(Exception, match="device 2 is not visible"):
        build(onnx_files, tmp_path, trt, cudart, device=2)


def test_hardware_compatibility_is_for_discrete_gpus(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0", devices=(ORIN,))
    with pytest.raises(ExportError, match="integrated"):
        build(onnx_files, tmp_path, trt, cudart, hardware_compatibility="ampere_plus")
    side = {"tensorrt_version": "10.3.0", "hardware_compatibility": "ampere_plus"}
    side["gpu"] = {"compute_capability": "8.6"}
    check_engine_compatibility(side, "10.3.0", {"compute_capability": "8.9"})
    with pytest.raises(EngineCompatibilityError, match="compute capability"):
        check_engine_compatibility(
            side, "10.3.0", {"compute_capability": "8.7", "integrated": True}
        )
    with pytest.raises(EngineCompatibilityError, match="compute capability"):
        check_engine_compatibility(side, "10.3.0", {"compute_capability": "7.5"})


# ------------------------------------------------------------- version compatibility
def test_version_compatible_engine_loads_on_a_newer_runtime_of_the_same_major(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0")
    res = build(onnx_files, tmp_path, trt, cudart, version_compatible=True)
    assert res.manifest.version_compatible
    newer = make_tensorrt("10.16.0", gpu)
    with TrtRunner(res.path, buffers=CudaPythonBuffers(0, cudart), tensorrt=newer) as r:
        on, ap = pair(2)
        np.testing.assert_allclose(r.run(on, ap), reference_logits(on, ap, 5), atol=2e-2)
    assert "deserialize" in newer.events  # only because engine_host_code_allowed was set
    for other in ("10.2.0", "11.1.0"):
        with pytest.raises(EngineCompatibilityError, match="cannot load on"):
            TrtRunner(
                res.path, buffers=CudaPythonBuffers(0, cudart), tensorrt=make_tensorrt(other, gpu)
            ).activate()
    plain = build(onnx_files, tmp_path, trt, cudart, "plain.engine")
    with pytest.raises(EngineCompatibilityError, match="version-compatible"):
        TrtRunner(plain.path, buffers=CudaPythonBuffers(0, cudart), tensorrt=newer).activate()


# ------------------------------------------------------------------ runner lifecycle
def test_runner_lifecycle_cuda_python(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0")
    res = build(onnx_files, tmp_path, trt, cudart, precision="fp32", batch=(1, 2, 4))
    buffers = CudaPythonBuffers(0, cudart)
    runner = TrtRunner(res.path, buffers=buffers, tensorrt=trt)
    assert buffers.stream is not None and "cudaMalloc" not in gpu.calls  # cheap __init__
    runner.activate()
    assert runner.max_batch == 4 and gpu.calls.count("cudaMalloc") == 3  # once, at max batch
    for n, seed in ((1, 0), (3, 1), (4, 2), (1, 3)):  # first run, mid, max, batch change
        on, ap = pair(n, seed)
        np.testing.assert_allclose(runner.run(on, ap), reference_logits(on, ap, 5), atol=1e-5)
    assert gpu.calls.count("cudaMalloc") == 3 and "cudaStreamDestroy" not in gpu.calls
    with pytest.raises(InputError, match="max batch 4"):
        runner.run(*pair(5))
    runner.close()
    assert gpu.calls.count("cudaStreamDestroy") == 1 and gpu.calls.count("cudaFree") == 3
    assert gpu.calls.count("cudaFreeHost") == 3 and gpu.mem == {} and gpu.host == {}
    with pytest.raises(RunnerClosedError):
        runner.run(*pair(1))
    runner.close()  # idempotent
    assert gpu.calls.count("cudaStreamDestroy") == 1


@pytest.mark.parametrize("version", ["8.6.1", "10.3.0"])
def test_tensorrt_objects_it_cannot_create_are_typed_errors(onnx_files, tmp_path, version):
    """No usable GPU, or a tensorrt wheel for another CUDA major: the bindings raise pybind's
    TypeError (constructors) or return None (factories). Each becomes a typed error naming
    what to check, never a TypeError/AttributeError from deep inside."""
    gpu, cudart, trt = rig(version)
    res = build(onnx_files, tmp_path, trt, cudart, precision="fp32")
    trt.fail_create = {"Builder"}
    with pytest.raises(BackendUnavailableError, match="could not create a builder.*CUDA major"):
        build(onnx_files, tmp_path, trt, cudart, "b.engine")
    for factory, what in (
        ("create_network", "a network"),
        ("create_builder_config", "a builder config"),
    ):
        trt.fail_create = {factory}
        with pytest.raises(ExportError, match=f"could not create {what}.*returned None"):
            build(onnx_files, tmp_path, trt, cudart, "b.engine")
    assert not (tmp_path / "b.engine").exists()
    trt.fail_create = {"Runtime"}
    runner = TrtRunner(res.path, buffers=CudaPythonBuffers(0, cudart), tensorrt=trt)
    with pytest.raises(BackendUnavailableError, match="could not create a runtime.*doctor"):
        runner.activate()
    runner.close()
    assert gpu.mem == {}  # nothing left allocated by the failed activation


@pytest.mark.parametrize("version", ["8.6.1", "10.3.0"])
def test_builder_and_runtime_given_as_none_and_a_missing_context_are_typed_errors(
    onnx_files, tmp_path, version
):
    """Bindings that hand back None for a constructor (instead of raising) are caught at both
    call sites, the DLA inspection's runtime included; an execution context TensorRT cannot
    allocate is an EngineCompatibilityError that frees what the activation allocated."""
    gpu, cudart, trt = rig(version)
    res = build(onnx_files, tmp_path, trt, cudart, precision="fp32")
    trt.create_failure = "None"
    trt.fail_create = {"Builder"}
    assert trt.Builder(trt.Logger()) is None  # the double fails as asked
    with pytest.raises(BackendUnavailableError, match="could not create a builder.*returned None"):
        build(onnx_files, tmp_path, trt, cudart, "b.engine")
    trt.fail_create = {"create_optimization_profile"}
    with pytest.raises(ExportError, match="could not create an optimization profile"):
        build(onnx_files, tmp_path, trt, cudart, "b.engine")
    assert not (tmp_path / "b.engine").exists()
    trt.fail_create = {"Runtime"}
    runner = TrtRunner(res.path, buffers=CudaPythonBuffers(0, cudart), tensorrt=trt)
    with pytest.raises(BackendUnavailableError, match="could not create a runtime.*nvidia-smi"):
        runner.activate()
    runner.close()
    trt.fail_create = {"create_execution_context"}
    runner = TrtRunner(res.path, buffers=CudaPythonBuffers(0, cudart), tensorrt=trt)
    with pytest.raises(EngineCompatibilityError, match="could not create an execution context"):
        runner.activate()
    runner.close()
    assert gpu.mem == {}
    trt.fail_create = set()
    with TrtRunner(res.path, buffers=CudaPythonBuffers(0, cudart), tensorrt=trt) as ok:
        assert ok.run(*pair(1)).shape == (1, 5)


def test_dla_inspection_runtime_given_as_none_is_a_typed_error(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0", devices=(ORIN,), dla_cores=2)
    trt.create_failure, trt.fail_create = "None", {"Runtime"}
    with pytest.raises(BackendUnavailableError, match="could not create a runtime"):
        build(onnx_files, tmp_path, trt, cudart, dla_core=0, strongly_typed=False)
    assert not (tmp_path / "model.engine").exists()


def test_an_int8_onnx_quantized_for_another_target_is_not_built(onnx_files, tmp_path):
    """A CPU-target Q/DQ file copied to the TensorRT target's name (uint8 activations,
    another layout) is refused before TensorRT parses it."""
    from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
    from mmnet_edge.artifacts.onnx_props import write_onnx_metadata

    d = tmp_path / "src"
    shutil.copytree(onnx_files.parent, d)
    meta = read_onnx_metadata(d / "model.int8.onnx")
    meta.extra = {**meta.extra, "int8_target": "cpu"}
    write_onnx_metadata(d / "model.int8.onnx", meta)
    gpu, cudart, trt = rig("10.3.0")
    with pytest.raises(ExportError, match="named for the tensorrt INT8 target.*cpu target"):
        build(d / "model.onnx", tmp_path, trt, cudart, precision="int8")
    assert trt.stats["builds"] == 0 and not (tmp_path / "model.engine").exists()


def test_cuda_python_buffers_free_keeps_the_stream_and_destroy_ends_it():
    gpu = FakeGpu()
    cudart = FakeCudart(gpu)
    b = CudaPythonBuffers(0, cudart)
    ptr = b.alloc(64)
    b.free()
    assert ptr not in gpu.mem and isinstance(b.stream_handle, int)  # stream still usable
    b.to_device(b.alloc(16), np.zeros(4, np.float32))  # re-allocation after free works
    b.destroy()
    assert b.stream is None and gpu.mem == {}
    with pytest.raises(BackendExecutionError, match="destroyed"):  # not int(None): TypeError
        _ = b.stream_handle
    b.destroy()
    assert gpu.calls.count("cudaStreamDestroy") == 1


def test_cuda_graph_replays_fresh_inputs_and_recaptures_on_batch_change(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0")
    res = build(onnx_files, tmp_path, trt, cudart, precision="fp32")
    with TrtRunner(
        res.path, buffers=CudaPythonBuffers(0, cudart), tensorrt=trt, cuda_graph=True
    ) as r:
        assert r.cuda_graph
        for n, seed in ((2, 0), (2, 1), (1, 2)):
            on, ap = pair(n, seed)
            np.testing.assert_allclose(r.run(on, ap), reference_logits(on, ap, 5), atol=1e-5)
    assert gpu.calls.count("cudaGraphLaunch") == 3
    assert trt.events.count("execute_async_v3") == 4  # 2 captures × (warm-up + captured)


def test_fp16_io_engine_returns_float32(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0")
    res = build(onnx_files, tmp_path, trt, cudart)  # strongly typed: HALF I/O
    with TrtRunner(res.path, buffers=CudaPythonBuffers(0, cudart), tensorrt=trt) as r:
        on, ap = pair(2)
        got = r.run(on, ap)
    want = reference_logits(on.astype(np.float16), ap.astype(np.float16), 5)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=2e-2)


def test_pycuda_uses_the_primary_context_only_around_calls(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0")
    res = build(onnx_files, tmp_path, trt, cudart, precision="fp32")
    drv = FakePyCudaDriver(gpu)
    with TrtRunner(res.path, buffers=PyCudaBuffers(0, driver=drv), tensorrt=trt) as r:
        assert gpu.ctx_stack() == []  # not left pushed (autoprimaryctx semantics per call)
        out: dict[str, np.ndarray] = {}
        on, ap = pair(3)
        worker = threading.Thread(target=lambda: out.setdefault("x", r.run(on, ap)))
        worker.start()
        worker.join()
        np.testing.assert_allclose(out["x"], reference_logits(on, ap, 5), atol=1e-5)
        # a foreign (pycuda.autoinit-style) context current on the caller's thread: the runner
        # still enqueues in the primary context the engine lives in
        drv.Device(0).make_context()
        np.testing.assert_allclose(r.run(on, ap), reference_logits(on, ap, 5), atol=1e-5)
        drv.Context.pop()
    assert drv.made_contexts == 1 and not any(e.startswith("wrong-device") for e in trt.events)
    assert gpu.mem == {}


def test_autoinit_style_context_breaks_the_engine_in_the_double():
    """Control: the double does reject an enqueue from a non-primary context."""
    gpu, cudart, trt = rig("10.3.0")
    drv = FakePyCudaDriver(gpu)
    assert gpu.runtime_device() == 0
    drv.Device(0).make_context()
    assert gpu.runtime_device() == "foreign"
    drv.Context.pop()


def test_device_index_is_honoured_on_every_thread(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0", devices=(RTX, RTX))
    res = build(onnx_files, tmp_path, trt, cudart, precision="fp32", device=1)
    runner = TrtRunner(
        res.path, device="cuda:1", buffers=CudaPythonBuffers(1, cudart), tensorrt=trt
    )
    with runner as r:
        assert all(dev == 1 for dev, _ in gpu.mem.values())
        on, ap = pair(2)
        out: dict[str, np.ndarray] = {}
        t = threading.Thread(target=lambda: out.setdefault("x", r.run(on, ap)))  # device 0 there
        t.start()
        t.join()
        np.testing.assert_allclose(out["x"], reference_logits(on, ap, 5), atol=1e-5)


def write_fake_engine(path: Path, onnx: Path, **blob_changes) -> Path:
    """Build with the doubles, then rewrite the engine's blob (a broken engine)."""
    gpu, cudart, trt = rig("10.3.0")
    res = build(onnx, path.parent, trt, cudart, name=path.name, precision="fp32")
    blob = json.loads(res.path.read_bytes()[7:])
    blob.update(blob_changes)
    res.path.write_bytes(b"FAKETRT" + json.dumps(blob).encode())
    return res.path


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"dtype": "INT8"}, "of type"),
        ({"classes": 7}, "expected N×5"),
        ({"size": 64}, "N×3×112×112"),
        ({"profile": [1, 2, 8]}, "sidecar says 4"),
    ],
)
def test_engine_io_is_checked(onnx_files, tmp_path, changes, match):
    path = write_fake_engine(tmp_path / "m.engine", onnx_files, **changes)
    gpu, cudart, trt = rig("10.3.0")
    buffers = CudaPythonBuffers(0, cudart)
    with pytest.raises(EngineCompatibilityError, match=match):
        TrtRunner(path, buffers=buffers, tensorrt=trt).activate()
    assert buffers.stream is None and gpu.mem == {}  # nothing leaks on the way out


def test_host_located_tensor_is_refused(onnx_files, tmp_path, monkeypatch):
    path = write_fake_engine(tmp_path / "m.engine", onnx_files)
    gpu, cudart, trt = rig("10.3.0")
    monkeypatch.setattr(
        trt.ICudaEngine, "get_tensor_location", lambda s, n: trt.TensorLocation.HOST
    )
    with pytest.raises(EngineCompatibilityError, match="host memory"):
        TrtRunner(path, buffers=CudaPythonBuffers(0, cudart), tensorrt=trt).activate()


def test_rejected_shape_and_failed_execution_are_backend_errors_not_input_errors(
    onnx_files, tmp_path
):
    path = write_fake_engine(tmp_path / "m.engine", onnx_files, profile=[2, 2, 4])
    gpu, cudart, trt = rig("10.3.0")
    with TrtRunner(path, buffers=CudaPythonBuffers(0, cudart), tensorrt=trt) as r:
        with pytest.raises(BackendExecutionError, match="batch 2…4") as shape_err:
            r.run(*pair(1))
        trt.fail_execute = True
        with pytest.raises(BackendExecutionError, match="execution of m.engine failed") as run_err:
            r.run(*pair(2))
    for err in (shape_err.value, run_err.value):
        assert not isinstance(err, InputError)


# ----------------------------------------------------------------------------- DLA
def test_dla_build_is_weakly_typed_fp16_counts_dla_layers_and_the_runner_sets_the_core(
    onnx_files, tmp_path
):
    gpu, cudart, trt = rig("10.3.0", devices=(ORIN,), dla_cores=2)
    res = build(onnx_files, tmp_path, trt, cudart, dla_core=1, batch=(1, 1, 1))
    b = last_build(trt)
    assert not b["strongly_typed"] and b["flags"] == ["FP16", "GPU_FALLBACK"]
    assert b["source"] == "model.onnx" and b["detailed"]
    assert res.manifest.dla_layers == 4 and read_engine_manifest(res.path).dla_layers == 4
    with TrtRunner(res.path, buffers=CudaPythonBuffers(0, cudart), tensorrt=trt) as r:
        on, ap = pair(1)
        np.testing.assert_allclose(r.run(on, ap), reference_logits(on, ap, 5), atol=1e-5)
    no_dla = make_tensorrt("10.3.0", FakeGpu((ORIN,), dla_cores=0))
    with pytest.raises(EngineCompatibilityError, match="DLA core 1"):
        TrtRunner(res.path, buffers=CudaPythonBuffers(0, cudart), tensorrt=no_dla).activate()


def test_dla_build_fails_when_no_layer_runs_on_the_dla(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0", devices=(ORIN,), dla_cores=2)
    trt.dla_supported_layers = 0
    with pytest.raises(ExportError, match="no layer .* runs on DLA core 0"):
        build(onnx_files, tmp_path, trt, cudart, dla_core=0)
    assert not (tmp_path / "model.engine").exists()


@pytest.mark.parametrize(
    ("version", "opts", "match"),
    [
        ("11.1.0", {}, "no DLA support"),
        ("11.4.0", {}, "no DLA support"),
        ("10.3.0", {"precision": "int8"}, "DLA INT8 needs implicit calibration"),
        ("8.6.1", {"precision": "int8"}, "does not take the explicit Q/DQ"),
        ("10.3.0", {"strongly_typed": True}, "weakly typed"),
    ],
)
def test_dla_requests_tensorrt_cannot_serve_are_refused(onnx_files, tmp_path, version, opts, match):
    gpu, cudart, trt = rig(version, devices=(ORIN,), dla_cores=2)
    with pytest.raises(ExportError, match=match):
        build(onnx_files, tmp_path, trt, cudart, dla_core=0, **opts)
    assert trt.stats["builds"] == 0


def test_dla_on_a_gpu_without_dla_is_refused(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0", devices=(RTX,), dla_cores=0)
    with pytest.raises(ExportError, match="has 0 DLA core"):
        build(onnx_files, tmp_path, trt, cudart, dla_core=0)


def test_count_dla_layers_reads_detailed_and_name_only_inspector_json():
    detailed = {"Layers": [{"Name": "a", "LayerType": "DLA"}, {"Name": "b", "LayerType": "Myelin"}]}
    assert count_dla_layers(json.dumps(detailed)) == 1
    # trtexec's layer list of a DLA engine (NVIDIA/TensorRT#3143): transfers to/from nvm
    names = ["images to nvm", "{ForeignNode[Conv_0...Concat_198]}", "head_3 from nvm"]
    assert count_dla_layers(json.dumps({"Layers": names})) == 1
    # a GPU engine's Myelin ForeignNode is not a DLA layer
    assert count_dla_layers(json.dumps({"Layers": ["{ForeignNode[attn]}", "conv"]})) == 0
    assert count_dla_layers("not json") == 0


# ----------------------------------------------------------------- legacy calibrator
def calib_set(n: int = 12) -> CalibrationSet:
    on, ap = pair(n, seed=7)
    return CalibrationSet(on, ap, np.full(n, -1), ("a", "b", "c", "d", "e"))


@pytest.mark.parametrize("version", ["8.6.1", "10.3.0"])
def test_legacy_calibrator_feeds_opt_batches_sets_the_profile_and_frees(
    onnx_files, tmp_path, version
):
    gpu, cudart, trt = rig(version)
    buffers = CudaPythonBuffers(0, cudart)
    cs = calib_set(12)
    cal = make_entropy_calibrator(
        cs, "sha", tmp_path / "c", profile=(1, 4, 8), buffers=buffers, tensorrt=trt
    )
    assert cal.get_batch_size() == 4
    res = build(
        onnx_files, tmp_path, trt, cudart, precision="int8", batch=(1, 4, 8), calibrator=cal
    )
    b = last_build(trt)
    assert b["flags"] == ["FP16", "INT8"] and b["source"] == "model.onnx"
    assert trt.stats["calib_batches"] == 3 and cal.batches_fed == 3
    assert cal.cache_file.read_bytes() == f"calib {version}".encode()
    assert gpu.mem == {} and buffers.stream is not None  # allocations freed, stream kept
    assert res.manifest.implicit_int8_calibrator
    # second build: the cache is read, nothing fed or allocated
    before = gpu.calls.count("cudaMalloc")
    cal2 = make_entropy_calibrator(
        cs, "sha", tmp_path / "c", profile=(1, 4, 8), buffers=buffers, tensorrt=trt
    )
    build(
        onnx_files,
        tmp_path,
        trt,
        cudart,
        "b.engine",
        precision="int8",
        batch=(1, 4, 8),
        calibrator=cal2,
    )
    assert "calibration-cache-read" in trt.events and gpu.calls.count("cudaMalloc") == before
    free_calibrator(cal2)


def test_calibrator_batch_must_be_the_profile_opt_batch(onnx_files, tmp_path):
    gpu, cudart, trt = rig("10.3.0")
    cal = make_entropy_calibrator(
        calib_set(), "sha", tmp_path, batch=8, buffers=CudaPythonBuffers(0, cudart), tensorrt=trt
    )
    with pytest.raises(ExportError, match="opt batch is 4"):
        build(onnx_files, tmp_path, trt, cudart, precision="int8", batch=(1, 4, 8), calibrator=cal)
    with pytest.raises(CalibrationError, match="differs from the profile"):
        make_entropy_calibrator(calib_set(), "sha", tmp_path, 8, profile=(1, 4, 8), tensorrt=trt)
    with pytest.raises(CalibrationError, match="fewer than one batch"):
        make_entropy_calibrator(calib_set(3), "sha", tmp_path, profile=(1, 4, 8), tensorrt=trt)
    with pytest.raises(CalibrationError, match="removed in 11"):
        make_entropy_calibrator(calib_set(), "sha", tmp_path, tensorrt=rig("11.1.0")[2])


def test_calibrator_frees_its_own_buffers_when_the_set_is_exhausted(tmp_path):
    gpu, cudart, trt = rig("10.3.0")
    owned = CudaPythonBuffers(0, cudart)
    cal = make_entropy_calibrator(calib_set(8), "sha", tmp_path, profile=(1, 4, 4), tensorrt=trt)
    cal._buffers, cal._owns_buffers = owned, True  # as open_buffers() would have made
    assert cal.get_batch(["onset", "apex"]) and cal.get_batch(["onset", "apex"])
    assert len(gpu.mem) == 2
    assert cal.get_batch(["onset", "apex"]) is None
    assert gpu.mem == {} and owned.stream is None


# ----------------------------------------------------------------- platform facts
def test_gpu_facts_come_from_cuda_python_with_integrated_and_index():
    gpu = FakeGpu((RTX, ORIN))
    cudart = FakeCudart(gpu)
    assert gpu_facts(0, cudart)["name"] == RTX["name"] and "integrated" not in gpu_facts(0, cudart)
    orin = gpu_facts(1, cudart)
    assert orin["integrated"] is True and orin["compute_capability"] == "8.7"
    assert orin["cuda_runtime"] == "12.6" and gpu_facts(2, cudart) == {}


def test_cuda_python_is_pinned_by_cuda_major():
    data = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    extras = data["project"]["optional-dependencies"]

    def spec(extra: str, name: str) -> str:
        return next(s for s in extras[extra] if s.split(">")[0].split("<")[0].strip() == name)

    assert spec("tensorrt", "cuda-python").replace(" ", "") == "cuda-python>=12,<13"
    assert spec("tensorrt-cu13", "cuda-python").replace(" ", "") == "cuda-python>=13,<14"
    # TensorRT itself by CUDA major: plain `tensorrt` (≥ 10.13.3.9) resolves to the CUDA 13 build
    names = {e: [s.split(">")[0].split("=")[0].strip() for s in extras[e]] for e in extras}
    assert "tensorrt-cu12" in names["tensorrt"] and "tensorrt-cu12" in names["pycuda"]
    assert "tensorrt-cu13" in names["tensorrt-cu13"]
    assert not any(n == "tensorrt" for e in extras for n in names[e])  # never the bare name
