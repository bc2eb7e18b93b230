"""``export --format triton``: config.pbtxt parses with Triton's own ModelConfig schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmnet_edge.artifacts.manifests import EngineManifest
from mmnet_edge.cli import cli
from mmnet_edge.errors import ExportError, InputError
from mmnet_edge.export.triton_repo import write_triton_repository
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.model import create_config

model_config_pb2 = pytest.importorskip(
    "tritonclient.grpc.model_config_pb2", reason="tritonclient (the [serve] extra) not installed"
)
from google.protobuf import text_format  # noqa: E402


def parse(path: Path):  # noqa: ANN201 - model_config_pb2.ModelConfig
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def _io(tensors) -> dict[str, tuple[str, list[int]]]:  # noqa: ANN001
    dt = model_config_pb2.DataType
    return {t.name: (dt.Name(t.data_type), list(t.dims)) for t in tensors}


@pytest.fixture(scope="module")
def onnx_repo(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    args = ["export", str(tiny_checkpoint), "--format", "triton", "-o", str(out)]
    res = CliRunner().invoke(cli, [*args, "--batch", "1,4,8", "--queue-delay-us", "250"])
    assert res.exit_code == 0, res.output
    assert "triton repository" in res.output
    return out


def test_onnx_repository_config_parses_with_tritons_schema(onnx_repo: Path) -> None:
    cfg = parse(onnx_repo / "triton" / "mmnet" / "config.pbtxt")
    assert cfg.name == "mmnet" and cfg.platform == "onnxruntime_onnx"
    assert cfg.max_batch_size == 8
    assert _io(cfg.input) == {
        "onset": ("TYPE_FP32", [3, 112, 112]),
        "apex": ("TYPE_FP32", [3, 112, 112]),
    }
    assert _io(cfg.output) == {"logits": ("TYPE_FP32", [5])}
    assert cfg.HasField("dynamic_batching")
    assert cfg.dynamic_batching.max_queue_delay_microseconds == 250
    assert list(cfg.dynamic_batching.preferred_batch_size) == [8]
    (group,) = cfg.instance_group
    assert model_config_pb2.ModelInstanceGroup.Kind.Name(group.kind) == "KIND_CPU"
    meta = ModelMetadata.from_dict(json.loads(cfg.parameters["mmnet_edge_metadata"].string_value))
    assert meta.input_size == 112 and len(meta.class_names) == 5
    # the served file is the exported ONNX, byte for byte
    model = onnx_repo / "triton" / "mmnet" / "1" / "model.onnx"
    assert model.read_bytes() == (onnx_repo / "model.onnx").read_bytes()


def test_onnx_repository_matches_the_onnx_graph(onnx_repo: Path) -> None:
    from mmnet_edge.artifacts.onnx_props import read_onnx_header

    header = read_onnx_header(onnx_repo / "triton" / "mmnet" / "1" / "model.onnx")
    cfg = parse(onnx_repo / "triton" / "mmnet" / "config.pbtxt")
    for t in cfg.input:  # config dims = the graph's dims without the batch axis
        assert header.inputs[t.name][1][1:] == list(t.dims)
    assert header.outputs["logits"][1][1:] == list(cfg.output[0].dims)


def _fake_engine(tmp_path: Path, profile: dict[str, int]) -> Path:
    engine = tmp_path / "mmnet.fp16.engine"
    engine.write_bytes(b"not a real plan; Triton would load it, this test only writes config")
    meta = ModelMetadata(config=create_config("tiny", 3), class_names=("neg", "pos", "sur"))
    EngineManifest("10.3.0", "fp16", meta.to_dict(), profile=profile).write(engine)
    return engine


def test_engine_repository_uses_the_profile(tmp_path: Path) -> None:
    engine = _fake_engine(tmp_path, {"min": 1, "opt": 4, "max": 8})
    res = CliRunner().invoke(cli, ["export", str(engine), "--format", "triton"])
    assert res.exit_code == 0, res.output
    repo = tmp_path / "triton" / "mmnet"
    cfg = parse(repo / "config.pbtxt")
    assert cfg.platform == "tensorrt_plan" and cfg.max_batch_size == 8
    assert _io(cfg.input)["apex"] == ("TYPE_FP32", [3, 112, 112])
    assert _io(cfg.output) == {"logits": ("TYPE_FP32", [3])}
    assert list(cfg.dynamic_batching.preferred_batch_size) == [4, 8]
    (group,) = cfg.instance_group
    assert model_config_pb2.ModelInstanceGroup.Kind.Name(group.kind) == "KIND_GPU"
    assert list(group.profile) == ["0"]
    assert (repo / "1" / "model.plan").read_bytes() == engine.read_bytes()

    smaller = write_triton_repository(engine, tmp_path / "r2", max_batch=2, name="mm")
    assert parse(smaller.config_path).max_batch_size == 2
    assert list(parse(smaller.config_path).dynamic_batching.preferred_batch_size) == [2]
    with pytest.raises(ExportError, match="profile max 8"):
        write_triton_repository(engine, tmp_path / "r3", max_batch=16)


def test_batch_one_engine_has_no_dynamic_batching(tmp_path: Path) -> None:
    engine = _fake_engine(tmp_path, {"min": 1, "opt": 1, "max": 1})
    cfg = parse(write_triton_repository(engine, tmp_path / "r").config_path)
    assert cfg.max_batch_size == 1 and not cfg.HasField("dynamic_batching")


def test_checkpoint_is_refused(tiny_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="export it first"):
        write_triton_repository(tiny_checkpoint, tmp_path)
