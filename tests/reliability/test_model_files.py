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
