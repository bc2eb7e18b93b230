"""GELU fusion before CPU-target quantization: same numbers, one kernel, readable names."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort

from mmnet_edge.calibration.fusions import fuse_gelu
from mmnet_edge.export.onnx import export_onnx


def _logits(path, onset, apex) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # as written
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return sess.run(["logits"], {"onset": onset, "apex": apex})[0]


def test_fused_gelu_matches_the_exported_graph(tiny_checkpoint, tmp_path):
    fp32 = export_onnx(tiny_checkpoint, tmp_path / "model.onnx").path
    fused = tmp_path / "fused.onnx"
    assert fuse_gelu(fp32, fused) == 2  # the tiny preset's PC module has 2 transformer blocks
    model = onnx.load(str(fused))
    assert not [n for n in model.graph.node if n.op_type == "Erf"]
    gelu = [n for n in model.graph.node if n.op_type == "Gelu"]
    assert [n.name for n in gelu] == ["/pc/blocks.0/mlp/Gelu", "/pc/blocks.1/mlp/Gelu"]
    onnx.checker.check_model(model)
    rng = np.random.default_rng(0)
    onset, apex = (rng.standard_normal((2, 3, 112, 112), dtype=np.float32) for _ in range(2))
    np.testing.assert_allclose(
        _logits(fused, onset, apex), _logits(fp32, onset, apex), rtol=1e-4, atol=1e-5
    )
    assert fuse_gelu(fused) == 2  # a second pass finds the fused nodes and changes nothing
    assert len(onnx.load(str(fused)).graph.node) == len(model.graph.node)
