"""ONNX files whose graph disagrees with their own metadata are refused when they load,
not at predict time (and never mislabel)."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from mmnet_edge.artifacts import read_metadata
from mmnet_edge.artifacts.onnx_props import write_onnx_metadata
from mmnet_edge.errors import CheckpointError
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.runtime import open_runner


def _with_metadata(src, dst, **changes):  # noqa: ANN001, ANN202
    shutil.copy(src, dst)
    meta = read_metadata(src)
    d = meta.to_dict()
    cfg = replace(meta.config, **changes.pop("config", {}))
    d.update(changes, config=cfg.to_dict())
    d.pop("input_size", None)
    write_onnx_metadata(dst, ModelMetadata.from_dict(d))
    return dst


def test_class_count_disagreeing_with_the_graph_is_refused(tiny_onnx, tmp_path):
    bad = _with_metadata(
        tiny_onnx,
        tmp_path / "model.onnx",
        config={"num_classes": 3},
        class_names=["positive", "negative", "surprise"],
    )
    with pytest.raises(CheckpointError, match=r"outputs 5 classes but its metadata names 3"):
        open_runner(bad, backend="onnxruntime", device="cpu")


def test_input_size_disagreeing_with_the_graph_is_refused(tiny_onnx, tmp_path):
    bad = _with_metadata(tiny_onnx, tmp_path / "model.onnx", config={"input_size": 224})
    with pytest.raises(CheckpointError, match=r"N×3×224×224.*re-export"):
        open_runner(bad, backend="onnxruntime", device="cpu")


def test_the_original_file_loads(tiny_onnx):
    with open_runner(tiny_onnx, backend="onnxruntime", device="cpu") as r:
        assert r.num_classes == 5 and r.input_size == 112


def _int8_named(src, dst, target):  # noqa: ANN001, ANN202
    """``src`` under an INT8 file name, its metadata recording ``target`` (None: no record,
    as files from before the per-target INT8 exports)."""
    shutil.copy(src, dst)
    meta = read_metadata(src)
    extra = {k: v for k, v in meta.extra.items() if k != "int8_target"}
    meta.extra = {**extra, "int8_target": target} if target else extra
    write_onnx_metadata(dst, meta)
    return dst


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_an_int8_file_named_for_another_target_is_refused_by_the_runtime(
    tiny_onnx, tmp_path, backend
):
    """A CPU-target file copied to the TensorRT target's name (or the reverse) would run the
    wrong layout; Runtime refuses it on open, naming both targets and both fixes."""
    from mmnet_edge import Runtime

    if backend == "openvino":
        pytest.importorskip("openvino")
    wrong = _int8_named(tiny_onnx, tmp_path / "model.int8.onnx", "cpu")
    with pytest.raises(CheckpointError) as err:
        Runtime(wrong, backend=backend, device="cpu", align=False)
    msg = str(err.value)
    assert "model.int8.onnx is named for the tensorrt INT8 target" in msg
    assert "quantized for the cpu target" in msg
    assert "mmnet-edge export --int8" in msg and "rename it to model.int8-cpu.onnx" in msg


def test_an_int8_sibling_picked_by_precision_is_checked_too(tiny_onnx, tmp_path):
    """Asking model.onnx for int8 on the CPU opens the CPU-target sibling by name: a
    TensorRT-target file under that name is refused, not run."""
    from mmnet_edge import Runtime

    fp32 = tmp_path / "model.onnx"
    shutil.copy(tiny_onnx, fp32)
    _int8_named(tiny_onnx, tmp_path / "model.int8-cpu.onnx", "tensorrt")
    with pytest.raises(CheckpointError, match="named for the cpu INT8 target but was quantized"):
        Runtime(fp32, backend="onnxruntime", device="cpu", precision="int8", align=False)


def test_an_int8_file_without_a_target_record_is_refused(tiny_onnx, tmp_path):
    """mmnet-edge's quantizer records every INT8 file's target; a file without the record
    (not made by it) is refused with how to re-export, not guessed from its name."""
    from mmnet_edge import Runtime

    unknown = _int8_named(tiny_onnx, tmp_path / "model.int8-cpu.onnx", None)
    with pytest.raises(CheckpointError, match="records no INT8 target.*export MODEL.onnx --int8"):
        Runtime(unknown, backend="onnxruntime", device="cpu", align=False)
    right = _int8_named(tiny_onnx, tmp_path / "model.int8.onnx", "tensorrt")
    with Runtime(right, backend="onnxruntime", device="cpu", align=False) as rt:
        assert rt.metadata.extra["int8_target"] == "tensorrt"
