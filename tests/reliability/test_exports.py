"""Exports: a rejected graph never replaces a good model; variants never outlive their source."""

from __future__ import annotations

import pytest

from mmnet_edge.checkpoint import save_checkpoint
from mmnet_edge.errors import MMNetEdgeError, ValidationError
from mmnet_edge.export import ExportSettings, export_model
from mmnet_edge.export.onnx import export_onnx, read_onnx_metadata
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.runtime.loader import open_runner
from tests.conftest import make_tiny_model


def test_failed_validation_keeps_the_good_model(tiny_checkpoint, tmp_path):
    good = export_onnx(tiny_checkpoint, tmp_path / "model.onnx").path
    before = good.read_bytes()
    with pytest.raises(ValidationError, match="left as it was"):
        export_onnx(tiny_checkpoint, good, atol=-1.0, rtol=0.0)  # nothing can pass
    assert good.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


@pytest.mark.slow
def test_fp16_variant_is_rebuilt_for_a_new_source(tmp_path):
    ckpts = []
    for seed in (0, 1):
        model = make_tiny_model(seed)
        ckpts.append(
            save_checkpoint(
                model, ModelMetadata(config=model.config), tmp_path / f"m{seed}.safetensors"
            )
        )
    out = tmp_path / "export"
    settings = ExportSettings(precision="fp16", lint=False)
    first = export_model(ckpts[0], out, settings)
    fp16 = out / "model.fp16.onnx"
    sha0 = read_onnx_metadata(fp16).extra["source_onnx_sha256"]
    again = export_model(ckpts[0], out, settings)  # same source: reused
    assert read_onnx_metadata(fp16).extra["source_onnx_sha256"] == sha0
    assert first.onnx == again.onnx
    export_model(ckpts[1], out, settings)  # another checkpoint: regenerated
    assert read_onnx_metadata(fp16).extra["source_onnx_sha256"] != sha0


@pytest.mark.slow
def test_loader_refuses_a_variant_of_another_source(tmp_path):
    model = make_tiny_model(0)
    ckpt = save_checkpoint(model, ModelMetadata(config=model.config), tmp_path / "a.safetensors")
    other = make_tiny_model(1)
    ckpt_b = save_checkpoint(other, ModelMetadata(config=other.config), tmp_path / "b.safetensors")
    out = tmp_path / "export"
    export_model(ckpt, out, ExportSettings(precision="fp16", lint=False))
    export_onnx(ckpt_b, out / "model.onnx")  # FP32 replaced behind the variant's back
    with pytest.raises(MMNetEdgeError, match="source|re-export"):
        open_runner(out / "model.onnx", backend="onnxruntime", precision="fp16", device="cpu")
