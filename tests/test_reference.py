"""Weights trained with the authors' code load exactly (names, shapes, outputs)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from mmnet_edge.checkpoint import load_checkpoint
from mmnet_edge.cli import cli
from mmnet_edge.errors import CheckpointError
from mmnet_edge.model import (
    MMNet,
    MMNetConfig,
    convert_reference_state_dict,
    from_reference_state_dict,
)
from mmnet_edge.model.reference import map_reference_name

KEYS = Path(__file__).parent / "data" / "mmnet_reference_keys.txt"


def reference_shapes() -> dict[str, tuple[int, ...]]:
    out = {}
    for line in KEYS.read_text().splitlines():
        name, shape = line.split(" ", 1)
        out[name] = tuple(int(v) for v in shape.strip("[]").split(",") if v.strip())
    return out


def random_reference_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for name, shape in reference_shapes().items():
        if name.endswith("num_batches_tracked"):
            sd[name] = torch.tensor(7)
        elif name.endswith("running_var"):
            sd[name] = torch.rand(shape, generator=g) + 0.5
        elif name.endswith("running_mean"):
            sd[name] = torch.randn(shape, generator=g) * 0.1
        else:
            fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
            sd[name] = torch.randn(shape, generator=g) / math.sqrt(fan_in)
    return sd


def authors_forward(sd: dict[str, torch.Tensor], onset: torch.Tensor, apex: torch.Tensor):
    """The authors' MMNet forward written functionally over *their* tensor names (MMNET.md)."""

    def bn(x, p):
        return F.batch_norm(
            x,
            sd[p + ".running_mean"],
            sd[p + ".running_var"],
            sd[p + ".weight"],
            sd[p + ".bias"],
            False,
            0.0,
            1e-5,
        )

    def ln(x, p):
        return F.layer_norm(x, (x.shape[-1],), sd[p + ".weight"], sd[p + ".bias"], 1e-6)

    def lin(x, p):
        return F.linear(x, sd[p + ".weight"], sd[p + ".bias"])

    x = F.relu(
        bn(F.conv2d(apex - onset, sd["conv_act.0.weight"], stride=2, padding=1), "conv_act.1")
    )
    x = F.relu(bn(F.conv2d(x, sd["main_branch.conv1.weight"], padding=1), "main_branch.bn1"))
    prev = None
    for i, stride in zip(range(1, 5), (1, 2, 2, 2)):
        p = f"main_branch.layer{i}.0"
        y = F.relu(bn(F.conv2d(x, sd[p + ".conv1.weight"], stride=stride, padding=1), p + ".bn1"))
        y = bn(F.conv2d(y, sd[p + ".conv2.weight"]), p + ".bn2")
        short = x
        if p + ".downsample.0.weight" in sd:
            short = bn(
                F.conv2d(x, sd[p + ".downsample.0.weight"], stride=stride), p + ".downsample.1"
            )
        y = F.relu(y + short)
        s = torch.cat([y.mean(1, keepdim=True), y.max(1, keepdim=True)[0]], 1)
        a = torch.sigmoid(bn(F.conv2d(s, sd[p + ".attn.0.weight"]), p + ".attn.1"))
        if prev is not None:
            a = a * F.max_pool2d(prev, 3, 2, 1)
        prev = a
        x = y * a
    small = F.interpolate(onset, size=(14, 14), mode="bilinear", align_corners=False)
    t = F.conv2d(small, sd["vit_pos.patch_embed.proj.weight"], sd["vit_pos.patch_embed.proj.bias"])
    t = t.flatten(2).transpose(1, 2) + sd["vit_pos.pos_embed"]
    for b in range(2):
        p = f"vit_pos.blocks.{b}"
        h = ln(t, p + ".norm1")
        qkv = lin(h, p + ".attn.qkv").reshape(t.shape[0], 196, 3, 4, 128).permute(2, 0, 3, 1, 4)
        att = (qkv[0] @ qkv[1].transpose(-2, -1) * 128**-0.5).softmax(-1)
        t = t + lin((att @ qkv[2]).transpose(1, 2).reshape(t.shape[0], 196, 512), p + ".attn.proj")
        t = t + lin(F.gelu(lin(ln(t, p + ".norm2"), p + ".mlp.fc1")), p + ".mlp.fc2")
    t = ln(t, "vit_pos.norm").transpose(1, 2).reshape(t.shape[0], 512, 14, 14)
    return lin((x + t).flatten(1), "main_branch.fc")


def test_mapping_is_total_and_one_to_one():
    shapes = reference_shapes()
    ours = MMNet(MMNetConfig()).state_dict()
    mapped = {name: map_reference_name(name) for name in shapes}
    assert None not in mapped.values()
    assert len(set(mapped.values())) == len(mapped)  # injective
    assert set(mapped.values()) == set(ours)  # onto
    for theirs, mine in mapped.items():
        assert tuple(ours[mine].shape) == shapes[theirs], theirs


def test_reference_weights_give_the_authors_outputs():
    sd = random_reference_state_dict()
    model = from_reference_state_dict(sd)
    assert model.config == MMNetConfig()
    torch.manual_seed(1)
    onset = torch.randn(2, 3, 224, 224)
    apex = onset + 0.05 * torch.randn_like(onset)
    with torch.inference_mode():
        expected = authors_forward(sd, onset, apex)
        got = model(onset, apex)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_unused_tensors_are_dropped_and_noted():
    sd = random_reference_state_dict()
    sd["vit_pos.cls_token"] = torch.zeros(1, 1, 512)
    sd["vit_pos.head.weight"] = torch.zeros(5, 512)
    sd["timeembed"] = torch.zeros(1, 512)
    sd = {"module." + k: v for k, v in sd.items()}  # DataParallel prefix
    conv = convert_reference_state_dict(sd)
    assert sorted(conv.dropped) == ["timeembed", "vit_pos.cls_token", "vit_pos.head.weight"]


def test_unknown_and_missing_tensors_raise():
    sd = random_reference_state_dict()
    with pytest.raises(CheckpointError, match="not part of MMNet"):
        convert_reference_state_dict({**sd, "foo.bar": torch.zeros(1)})
    del sd["main_branch.layer3.0.bn2.bias"]
    with pytest.raises(CheckpointError, match="missing"):
        convert_reference_state_dict(sd)


def test_convert_weights_cli(tmp_path):
    sd = random_reference_state_dict()
    sd["vit_pos.cls_token"] = torch.zeros(1, 1, 512)
    src, dst = tmp_path / "authors.pth", tmp_path / "mmnet.safetensors"
    torch.save(sd, src)
    res = CliRunner().invoke(cli, ["convert-weights", str(src), str(dst)])
    assert res.exit_code == 0, res.output
    assert "dropped 1" in res.output
    ckpt = load_checkpoint(dst)
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        torch.testing.assert_close(
            ckpt.model(x, x * 0.9), authors_forward(sd, x, x * 0.9), rtol=1e-4, atol=1e-4
        )


def test_convert_weights_refuses_pickled_objects(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    src = tmp_path / "evil.pth"
    torch.save({"model": Evil()}, src)
    res = CliRunner().invoke(cli, ["convert-weights", str(src), str(tmp_path / "o.safetensors")])
    assert res.exit_code != 0
    assert isinstance(res.exception, CheckpointError)
    assert "weights_only" in str(res.exception)
