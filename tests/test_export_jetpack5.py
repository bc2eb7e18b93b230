"""JetPack 5 (TensorRT 8.5.2) ONNX: LayerNorm decomposed into elementary ops, validated."""

from __future__ import annotations

import onnx
import pytest
import torch

from mmnet_edge.artifacts.metadata_io import read_onnx_metadata
from mmnet_edge.export.onnx import decompose_layernorms, export_onnx
from tests.conftest import make_tiny_model


def test_decomposed_layernorm_matches_torch_layernorm():
    torch.manual_seed(0)
    ln = torch.nn.LayerNorm(16, eps=1e-6)
    with torch.no_grad():
        ln.weight.uniform_(0.5, 1.5)
        ln.bias.uniform_(-0.2, 0.2)
    model, count = decompose_layernorms(torch.nn.Sequential(ln))
    assert count == 1 and not any(isinstance(m, torch.nn.LayerNorm) for m in model.modules())
    x = torch.randn(2, 7, 16) * 3 + 1
    torch.testing.assert_close(model(x), ln(x), atol=1e-5, rtol=1e-5)


def test_tiny_model_has_layernorms_to_decompose():
    _, count = decompose_layernorms(make_tiny_model())
    assert count >= 3  # per transformer block (2) + the final norm


@pytest.mark.slow
def test_export_without_layernormalization_is_validated_against_torch(tiny_checkpoint, tmp_path):
    res = export_onnx(tiny_checkpoint, tmp_path / "model.onnx", decompose_layernorm=True)
    ops = {n.op_type for n in onnx.load(str(res.path)).graph.node}
    assert "LayerNormalization" not in ops and {"ReduceMean", "Sqrt", "Div"} <= ops
    assert res.validation is not None and res.validation.passed  # vs the original model
    assert read_onnx_metadata(res.path).extra["layernorm"] == "decomposed"
