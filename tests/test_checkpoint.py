"""Checkpoints: safetensors round trip and every way a file can be bad."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import save_file

from mmnet_edge.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from mmnet_edge.errors import CheckpointError
from mmnet_edge.metadata import ModelMetadata, metadata_from_props, metadata_to_props
from mmnet_edge.model import MMNetConfig, create_config

from .conftest import make_tiny_model


def test_round_trip_gives_identical_outputs(tiny_checkpoint):
    model = make_tiny_model()
    ckpt = load_checkpoint(tiny_checkpoint)
    x, y = torch.randn(2, 3, 112, 112), torch.randn(2, 3, 112, 112)
    with torch.inference_mode():
        assert torch.equal(model(x, y), ckpt.model(x, y))
    assert ckpt.metadata.config == create_config("tiny")
    assert ckpt.metadata.input_size == 112
    assert len(ckpt.sha256) == 64
    assert not ckpt.model.training


def test_metadata_travels(tmp_path):
    model = make_tiny_model(num_classes=3)
    meta = ModelMetadata(
        config=model.config,
        class_names=("negative", "positive", "surprise"),
        training={"uf1": 0.5, "protocol": "loso"},
    )
    path = save_checkpoint(model, meta, tmp_path / "m.safetensors")
    got = read_metadata(path)
    assert got.class_names == ("negative", "positive", "surprise")
    assert got.training["uf1"] == 0.5
    assert metadata_from_props(metadata_to_props(got)) == got


def test_file_holds_no_pickle(tiny_checkpoint):
    raw = tiny_checkpoint.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])  # plain JSON header, no pickle opcodes
    assert "mmnet_edge" in header["__metadata__"]


def test_truncated_file_raises(tiny_checkpoint, tmp_path):
    bad = tmp_path / "trunc.safetensors"
    bad.write_bytes(tiny_checkpoint.read_bytes()[:-1000])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(bad)


def test_corrupt_header_raises(tiny_checkpoint, tmp_path):
    bad = tmp_path / "corrupt.safetensors"
    raw = bytearray(tiny_checkpoint.read_bytes())
    raw[8:40] = b"\x00" * 32
    bad.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError):
        load_checkpoint(bad)


def test_missing_file_and_missing_metadata(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.safetensors")
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(CheckpointError, match="convert-weights"):
        load_checkpoint(plain)


def _rewrite(src, dst, mutate_tensors=None, mutate_meta=None):
    from safetensors import safe_open

    with safe_open(str(src), framework="pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    if mutate_tensors:
        mutate_tensors(tensors)
    if mutate_meta:
        meta["mmnet_edge"] = mutate_meta(json.loads(meta["mmnet_edge"]))
    save_file(tensors, str(dst), metadata=meta)
    return dst


def test_missing_tensor_raises(tiny_checkpoint, tmp_path):
    dst = _rewrite(
        tiny_checkpoint, tmp_path / "a.safetensors", mutate_tensors=lambda t: t.pop("head.weight")
    )
    with pytest.raises(CheckpointError, match="missing.*head.weight"):
        load_checkpoint(dst)


def test_extra_tensor_raises(tiny_checkpoint, tmp_path):
    dst = _rewrite(
        tiny_checkpoint,
        tmp_path / "b.safetensors",
        mutate_tensors=lambda t: t.update(bogus=torch.zeros(3)),
    )
    with pytest.raises(CheckpointError, match="unexpected.*bogus"):
        load_checkpoint(dst)


def test_shape_mismatch_raises(tiny_checkpoint, tmp_path):
    def grow(t):
        t["head.weight"] = torch.zeros(6, t["head.weight"].shape[1])

    dst = _rewrite(tiny_checkpoint, tmp_path / "c.safetensors", mutate_tensors=grow)
    with pytest.raises(CheckpointError, match="shapes do not match"):
        load_checkpoint(dst)


def test_wrong_config_raises(tiny_checkpoint, tmp_path):
    def paper(meta):
        meta["config"] = MMNetConfig().to_dict()
        return json.dumps(meta)

    dst = _rewrite(tiny_checkpoint, tmp_path / "d.safetensors", mutate_meta=paper)
    with pytest.raises(CheckpointError, match="does not match its config|shapes do not match"):
        load_checkpoint(dst)


def test_class_names_must_match_config(tiny_checkpoint, tmp_path):
    def three(meta):
        meta["class_names"] = ["a", "b", "c"]
        return json.dumps(meta)

    dst = _rewrite(tiny_checkpoint, tmp_path / "e.safetensors", mutate_meta=three)
    with pytest.raises(CheckpointError, match="3 class names for a 5-class"):
        load_checkpoint(dst)


def test_nan_weights_rejected(tiny_checkpoint, tmp_path):
    def poison(t):
        t["head.bias"] = torch.full_like(t["head.bias"], float("nan"))

    dst = _rewrite(tiny_checkpoint, tmp_path / "f.safetensors", mutate_tensors=poison)
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(dst)


def test_atomic_save_leaves_no_temp_file(tmp_path):
    model = make_tiny_model()
    out = save_checkpoint(model, ModelMetadata(config=model.config), tmp_path / "x.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.safetensors"]
    shutil.copy(out, tmp_path / "y.safetensors")
    assert load_checkpoint(tmp_path / "y.safetensors").sha256 == load_checkpoint(out).sha256


def test_same_weights_and_metadata_give_the_same_file(tiny_checkpoint, tmp_path):
    """safetensors writes its metadata map in hash order; the header is sorted after writing,
    so a checkpoint's SHA-256 (the bench cache's key) depends on its content only. Eight
    fresh interpreters: hash order changes between processes."""
    import hashlib
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mmnet_edge.checkpoint import load_checkpoint, save_checkpoint\n"
        "ck = load_checkpoint(sys.argv[1])\n"
        "save_checkpoint(ck.model, ck.metadata, sys.argv[2])\n"
    )
    digests = set()
    for i in range(8):
        out = tmp_path / f"{i}.safetensors"
        subprocess.run([sys.executable, "-c", code, str(tiny_checkpoint), str(out)], check=True)
        digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
        assert load_checkpoint(out).metadata == load_checkpoint(tiny_checkpoint).metadata
    assert len(digests) == 1
