"""Export: ONNX (validated), FP16 variant, TensorRT build paths and profiles (CPU parts)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from click.testing import CliRunner

from mmnet_edge.artifacts.metadata_io import describe as describe_engine
from mmnet_edge.artifacts.platform import check_engine_compatibility
from mmnet_edge.checkpoint import load_checkpoint
from mmnet_edge.cli import cli
from mmnet_edge.errors import BackendUnavailableError, EngineCompatibilityError, ExportError
from mmnet_edge.export.engine_build import build_engine, timing_cache_path
from mmnet_edge.export.engine_options import EngineOptions
from mmnet_edge.export.onnx import (
    describe_onnx,
    export_onnx,
    read_onnx_metadata,
    tensorrt_supported_ops,
    unsupported_by_tensorrt,
)
from mmnet_edge.export.precision import export_fp16
from mmnet_edge.export.profiles import list_profiles, load_profile

HAS_TRT = importlib.util.find_spec("tensorrt") is not None


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    res = export_onnx(tiny_checkpoint, out / "model.onnx")
    fp16 = export_fp16(res.path, out / "model.fp16.onnx")
    return res, fp16


def test_onnx_export_is_checked_validated_and_named(exported):
    res, _ = exported
    model = onnx.load(str(res.path))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["onset", "apex"]
    assert [o.name for o in model.graph.output] == ["logits"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert res.opset >= 17
    assert res.validation is not None and res.validation.passed
    assert {c.batch for c in res.validation.cases} == {1, 4}
    assert {c.name.split("-")[0] for c in res.validation.cases} == {"random", "realistic"}


@pytest.mark.parametrize("batch", [1, 4, 7])
def test_onnx_matches_pytorch_at_any_batch(exported, tiny_checkpoint, batch):
    res, _ = exported
    model = load_checkpoint(tiny_checkpoint).model
    rng = np.random.default_rng(batch)
    on = rng.standard_normal((batch, 3, 112, 112), dtype=np.float32)
    ap = on + 0.05 * rng.standard_normal((batch, 3, 112, 112), dtype=np.float32)
    sess = ort.InferenceSession(str(res.path), providers=["CPUExecutionProvider"])
    (got,) = sess.run(["logits"], {"onset": on, "apex": ap})
    with torch.inference_mode():
        ref = model(torch.from_numpy(on), torch.from_numpy(ap)).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4)


def test_metadata_round_trip(exported, tiny_checkpoint):
    res, _ = exported
    meta = read_onnx_metadata(res.path)
    ck = load_checkpoint(tiny_checkpoint)
    assert meta.class_names == ck.metadata.class_names
    assert meta.config == ck.metadata.config
    assert meta.mean == ck.metadata.mean and meta.std == ck.metadata.std
    assert meta.source_checkpoint_sha256 == ck.sha256
    info = describe_onnx(res.path)
    assert info["input_size"] == 112 and info["opset"] == res.opset


def test_fp16_variant_is_valid_and_agrees(exported):
    res, fp16 = exported
    model = onnx.load(str(fp16.path))
    onnx.checker.check_model(model, full_check=True)
    # FP32 I/O kept, FP16 weights inside
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)
    assert read_onnx_metadata(fp16.path).precision == "fp16"
    assert fp16.agreement.top1_agreement >= 0.97
    assert fp16.agreement.max_prob_error < 0.02


def test_every_exported_op_is_in_tensorrts_parser_list(exported):
    res, fp16 = exported
    assert "LayerNormalization" in tensorrt_supported_ops()
    assert unsupported_by_tensorrt(res.path) == []
    assert unsupported_by_tensorrt(fp16.path) == []


def test_op_list_check_catches_an_unsupported_op(tmp_path):
    node = onnx.helper.make_node("DFT", ["x"], ["y"])
    graph = onnx.helper.make_graph(
        [node],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4, 2])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4, 2])],
    )
    path = tmp_path / "dft.onnx"
    onnx.save(onnx.helper.make_model(graph), str(path))
    assert unsupported_by_tensorrt(path) == ["DFT"]


def test_opset_below_17_is_refused(tiny_checkpoint, tmp_path):
    with pytest.raises(ExportError, match="opset"):
        export_onnx(tiny_checkpoint, tmp_path / "m.onnx", opset=16, validate=False)


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
def test_engine_build_without_tensorrt_says_what_to_do(exported, tmp_path):
    res, _ = exported
    with pytest.raises(BackendUnavailableError, match=r"mmnet-edge\[tensorrt\]"):
        build_engine(res.path, tmp_path / "m.engine", EngineOptions(precision="fp16"))


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
def test_cli_export_fp16_writes_onnx_and_exits_3_without_tensorrt(tiny_checkpoint, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mmnet_edge.cli import main; main()",
            "export",
            str(tiny_checkpoint),
            "--fp16",
            "--output",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 3, proc.stderr
    assert (tmp_path / "model.onnx").is_file() and (tmp_path / "model.fp16.onnx").is_file()
    assert "mmnet-edge[tensorrt]" in proc.stderr.replace("\n", " ")
    assert "mmnet-edge bench" in proc.stdout


def test_cli_export_onnx_format_exits_0(tiny_checkpoint, tmp_path):
    res = CliRunner().invoke(
        cli, ["export", str(tiny_checkpoint), "--format", "onnx", "--output", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "model.onnx").is_file()
    assert not (tmp_path / "model.fp16.onnx").exists()


def test_dla_without_reduced_precision_is_a_usage_error_before_any_work(tiny_checkpoint, tmp_path):
    res = CliRunner().invoke(
        cli,
        ["export", str(tiny_checkpoint), "--fp32", "--dla-core", "0", "--output", str(tmp_path)],
    )
    assert res.exit_code == 2
    assert "DLA runs FP16 or INT8 only" in res.output
    assert list(tmp_path.iterdir()) == []


def test_profiles_load_and_validate(tmp_path):
    names = list_profiles()
    for required in (
        "jetson-orin-nano",
        "jetson-agx-orin",
        "desktop-ampere-plus",
        "desktop-hopper",
    ):
        assert required in names
    for name in names:
        raw, opts = load_profile(name)
        assert raw["description"] and opts.precision in ("fp16", "int8", "fp32")
    _, dla = load_profile("jetson-agx-orin-dla")
    assert dla.dla_core == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('precision = "fp32"\ndla_core = 0\n')
    with pytest.raises(ExportError, match="DLA"):
        load_profile(str(bad))
    with pytest.raises(ExportError, match="unknown profile"):
        load_profile("pdp-11")


def test_timing_cache_is_content_addressed(tmp_path):
    gpu = {"name": "Orin", "compute_capability": "8.7"}
    a = timing_cache_path(tmp_path, "abc", "10.3.0", gpu)
    assert a == timing_cache_path(tmp_path, "abc", "10.3.0", dict(gpu))
    assert a != timing_cache_path(tmp_path, "abd", "10.3.0", gpu)
    assert a != timing_cache_path(tmp_path, "abc", "10.4.0", gpu)
    assert a != timing_cache_path(tmp_path, "abc", "10.3.0", {**gpu, "compute_capability": "9.0"})


def test_engine_compatibility_checks():
    manifest = {"tensorrt_version": "10.3.0", "gpu": {"name": "Orin", "compute_capability": "8.7"}}
    check_engine_compatibility(manifest, "10.3.0", {"compute_capability": "8.7"})
    with pytest.raises(EngineCompatibilityError, match="TensorRT 10.3.0"):
        check_engine_compatibility(manifest, "10.16.1", {"compute_capability": "8.7"})
    with pytest.raises(EngineCompatibilityError, match="rebuild the engine on this GPU"):
        check_engine_compatibility(manifest, "10.3.0", {"compute_capability": "9.0"})
    portable = {**manifest, "hardware_compatibility": "ampere_plus", "version_compatible": True}
    check_engine_compatibility(portable, "10.16.1", {"compute_capability": "9.0"})


def test_describe_engine_reads_the_sidecar(tmp_path):
    engine = tmp_path / "model.fp16.engine"
    engine.write_bytes(b"\x00" * 64)
    with pytest.raises(EngineCompatibilityError, match="sidecar"):
        describe_engine(engine)
    from mmnet_edge.metadata import ModelMetadata
    from mmnet_edge.model import create_config

    side = tmp_path / "model.fp16.engine.json"
    meta = ModelMetadata(config=create_config("tiny", 2), class_names=("a", "b"))
    fields = {
        "tensorrt_version": "10.3.0",
        "precision": "fp16",
        "gpu": {"name": "Orin"},
        "metadata": meta.to_dict(),
        "engine_sha256": "x",
    }
    side.write_text(json.dumps(fields))  # no format field: not an mmnet-edge sidecar
    with pytest.raises(EngineCompatibilityError, match="no valid 'format'.*rebuild"):
        describe_engine(engine)
    side.write_text(json.dumps({**fields, "format": "mmnet-edge-engine/99"}))
    with pytest.raises(EngineCompatibilityError, match="newer.*upgrade mmnet-edge"):
        describe_engine(engine)
    side.write_text(json.dumps({**fields, "format": "mmnet-edge-engine/1"}))
    d = describe_engine(engine)
    assert d["tensorrt_version"] == "10.3.0" and d["class_names"] == ["a", "b"]
    assert d["input_size"] == 112 and d["precision"] == "fp16"
    assert d["sha256_matches_sidecar"] is False


@pytest.mark.tensorrt
@pytest.mark.skipif(not HAS_TRT, reason="TensorRT is not installed")
def test_real_tensorrt_fp16_engine_matches_onnxruntime(exported, tmp_path):
    torch_cuda = torch.cuda.is_available()
    if not torch_cuda:
        pytest.skip("no CUDA device")
    res, _ = exported
    eng = build_engine(res.path, tmp_path / "model.fp16.engine", EngineOptions(precision="fp16"))
    from mmnet_edge.runtime.loader import open_runner

    rng = np.random.default_rng(0)
    on = rng.standard_normal((2, 3, 112, 112), dtype=np.float32)
    with open_runner(eng.path) as trt_runner, open_runner(res.path) as ort_runner:
        a, b = trt_runner.run(on, on * 0.9), ort_runner.run(on, on * 0.9)
    assert (a.argmax(1) == b.argmax(1)).all()
