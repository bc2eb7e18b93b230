"""OpenVINO runner: agreement with ONNX Runtime (FP32 and INT8), batches, lifecycle, errors.

Tests that run OpenVINO skip cleanly when the ``openvino`` package is absent; the
missing-package error is tested either way.
"""

from __future__ import annotations

import shutil
import sys
import warnings

import numpy as np
import pytest

from mmnet_edge.compare import collect_logits, compare_logits
from mmnet_edge.errors import BackendUnavailableError, CheckpointError, InputError
from mmnet_edge.runtime.loader import open_runner
from mmnet_edge.runtime.openvino_runner import OpenVinoRunner, check_ov_device
from mmnet_edge.runtime.runner import RunnerClosedError


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    """model.onnx + model.int8.onnx (symmetric) + model.int8-cpu.onnx and
    model.int8-openvino.onnx (U8S8) of the tiny model."""
    from mmnet_edge.export.pipeline import ExportSettings, export_model

    d = tmp_path_factory.mktemp("ov")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # synthetic calibration: fine for agreement tests
        res = export_model(
            tiny_checkpoint,
            d,
            ExportSettings(precision="int8", calib_method="minmax", validate=False, lint=False),
        )
    return res.onnx


@pytest.fixture(scope="module")
def heldout(exported):
    from mmnet_edge.artifacts import read_metadata
    from mmnet_edge.preprocess import heldout_batches

    return heldout_batches(read_metadata(exported), 24, batch=8)


def _logits(backend, path, inputs, **opts):
    with open_runner(path, backend=backend, **opts) as r:
        return collect_logits(r, inputs)


def test_missing_openvino_names_the_extra(monkeypatch, exported):
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino → ImportError
    runner = OpenVinoRunner(exported)  # cheap: nothing imported yet
    with pytest.raises(BackendUnavailableError, match=r"mmnet-edge\[openvino\]"):
        runner.activate()


def test_fp32_agrees_with_onnxruntime(exported, heldout):
    pytest.importorskip("openvino")
    ref = _logits("onnxruntime", exported, heldout)
    got = _logits("openvino", exported, heldout, threads=1)
    rep = compare_logits(ref, got)
    assert rep.n == sum(o.shape[0] for o, _ in heldout) and rep.top1_agreement == 1.0
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "variant", ["model.int8.onnx", "model.int8-cpu.onnx", "model.int8-openvino.onnx"]
)
def test_int8_files_agree_with_onnxruntime(exported, heldout, variant):
    pytest.importorskip("openvino")
    path = exported.with_name(variant)
    fp32 = _logits("onnxruntime", exported, heldout)
    ort = _logits("onnxruntime", path, heldout)
    ov = _logits("openvino", path, heldout)
    # same quantized graph on both engines: same answers, logits close to each other
    same_file = compare_logits(ort, ov)
    assert same_file.top1_agreement >= 0.95
    assert same_file.max_prob_error < 0.1
    # and both stay close to the FP32 model
    assert compare_logits(fp32, ov).top1_agreement >= 0.9
    with OpenVinoRunner(path) as r:
        assert r.precision == "int8" and r.metadata.precision == "int8"


def test_batches_are_independent_and_lifecycle(exported, heldout):
    pytest.importorskip("openvino")
    on, ap = heldout[0]
    runner = open_runner(exported, backend="ov", activate=False)
    assert not runner.is_active and runner.compiled is None  # cheap until activated
    runner.activate()
    assert runner.max_batch is None  # the dynamic batch dimension is kept
    batch = runner.run(on[:5], ap[:5])
    singles = np.concatenate([runner.run(on[i : i + 1], ap[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(batch, singles, rtol=1e-4, atol=1e-5)
    assert batch.shape == (5, runner.num_classes) and batch.dtype == np.float32
    runner.close()
    runner.close()  # idempotent
    with pytest.raises(RunnerClosedError):
        runner.run(on[:1], ap[:1])
    with pytest.raises(RunnerClosedError):
        runner.activate()
    with open_runner(exported, backend="openvino") as again:  # a new runner opens the file
        np.testing.assert_allclose(again.run(on[:5], ap[:5]), batch, rtol=1e-5, atol=1e-6)


def test_static_batch_pads_and_limits(exported, heldout):
    pytest.importorskip("openvino")
    on, ap = heldout[0]
    with OpenVinoRunner(exported, static_batch=2) as r, OpenVinoRunner(exported) as dyn:
        assert r.max_batch == 2
        np.testing.assert_allclose(r.run(on[:1], ap[:1]), dyn.run(on[:1], ap[:1]), atol=1e-5)
        with pytest.raises(InputError, match="max batch 2"):
            r.run(on[:3], ap[:3])


def test_options_reach_openvino(exported):
    pytest.importorskip("openvino")
    with OpenVinoRunner(exported, threads=1, hint="throughput") as r:
        info = r.describe()
    props = info["ov_properties"]
    assert info["backend"] == "openvino" and info["ov_device"] == "CPU"
    assert props["INFERENCE_NUM_THREADS"] == "1"
    assert "THROUGHPUT" in props["PERFORMANCE_HINT"]
    assert props["INFERENCE_PRECISION_HINT"] == "f32"  # FP32 numerics on the CPU by default


def test_each_cpu_backend_loads_its_int8_file(exported, tmp_path):
    pytest.importorskip("openvino")
    with open_runner(exported, backend="openvino", precision="int8") as ov:
        # its own target's layout: all int8 but the attention convs
        assert ov.path.name == "model.int8-openvino.onnx"
        assert ov.metadata.extra["int8_target"] == "openvino"
    with open_runner(exported, backend="onnxruntime", precision="int8") as ort:
        assert ort.path.name == "model.int8-cpu.onnx"  # U8S8: ONNX Runtime's fast path
    # no OpenVINO file: OpenVINO does not run another target's file, it says how to make its own
    for name in ("model.onnx", "model.int8-cpu.onnx", "model.int8.onnx"):
        shutil.copy(exported.with_name(name), tmp_path / name)
    with pytest.raises(InputError, match="int8-openvino.onnx.*--int8"):
        open_runner(tmp_path / "model.onnx", backend="openvino", precision="int8")


def test_refusals(exported, tmp_path):
    with pytest.raises(InputError, match="ov_device"):
        OpenVinoRunner(exported, device="cuda")
    with pytest.raises(InputError, match="PERFORMANCE_HINT"):
        OpenVinoRunner(exported, hint="fastest")
    with pytest.raises(InputError, match="holds a fp32 model"):
        OpenVinoRunner(exported, precision="int8")
    with pytest.raises(BackendUnavailableError, match="reports: CPU"):
        check_ov_device("NPU", ["CPU"])
    assert check_ov_device("gpu", ["CPU", "GPU.0"]) == "GPU"
    assert check_ov_device("AUTO:GPU,CPU", ["CPU"]) == "AUTO:GPU,CPU"


def test_graph_is_checked_against_metadata(exported, tmp_path):
    pytest.importorskip("openvino")
    import shutil

    from mmnet_edge.artifacts import read_metadata
    from mmnet_edge.artifacts.onnx_props import write_onnx_metadata
    from mmnet_edge.metadata import ModelMetadata
    from mmnet_edge.model import create_config

    lying = tmp_path / "lying.onnx"
    shutil.copy(exported, lying)
    meta = read_metadata(exported)
    wrong = ModelMetadata(
        config=create_config("tiny", 3), class_names=("a", "b", "c"), mean=meta.mean, std=meta.std
    )
    write_onnx_metadata(lying, wrong)
    with pytest.raises(CheckpointError, match="outputs 5 classes"):
        OpenVinoRunner(lying).activate()


def test_export_checks_the_openvino_file_on_openvino(tiny_checkpoint, tmp_path):
    pytest.importorskip("openvino")
    from mmnet_edge.export.pipeline import ExportSettings, export_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = export_model(
            tiny_checkpoint,
            tmp_path,
            ExportSettings(
                precision="int8", calib_method="minmax", int8_targets=("openvino",), lint=False
            ),
        )
    (step,) = [s for s in res.steps if s.name == "int8-openvino"]
    assert [p.name for p in step.paths] == ["model.int8-openvino.onnx"]
    assert "(OpenVINO CPU)" in step.detail and step.agreement.n >= 30
