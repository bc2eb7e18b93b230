"""MMNet architecture: parameter-exact, shapes, gradients, continuous attention."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mmnet_edge.errors import ConfigError
from mmnet_edge.model import MMNet, MMNetConfig, count_parameters, create_config
from mmnet_edge.model.ca_block import CABlock

from .conftest import make_tiny_model


def test_paper_model_has_exactly_the_reference_parameter_count():
    model = MMNet(MMNetConfig())
    assert count_parameters(model) == 9_438_841
    # Every parameter takes part in the forward pass (no dead weights).
    model.train()
    x = torch.randn(2, 3, 224, 224)
    model(x, x + 0.1 * torch.randn_like(x)).sum().backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert unused == []


def expected_parameters(cfg: MMNetConfig) -> int:
    """Parameter count from the architecture description (MMNET.md), layer by layer."""

    def conv(cin: int, cout: int, k: int, bias: bool = False) -> int:
        return cin * cout * k * k + (cout if bias else 0)

    def bn(c: int) -> int:  # weight + bias (running stats are buffers)
        return 2 * c

    def linear(cin: int, cout: int, bias: bool = True) -> int:
        return cin * cout + (cout if bias else 0)

    total = conv(cfg.in_chans, cfg.stem_channels, 3) + bn(cfg.stem_channels)
    total += conv(cfg.stem_channels, cfg.conv1_channels, 3) + bn(cfg.conv1_channels)
    cin = cfg.conv1_channels
    for cout, stride in zip(cfg.block_channels, cfg.block_strides):
        total += conv(cin, cout, 3) + bn(cout) + conv(cout, cout, 1) + bn(cout)
        if stride != 1 or cin != cout:
            total += conv(cin, cout, 1) + bn(cout)  # projection shortcut
        total += conv(2, 1, 1) + bn(1)  # spatial attention
        cin = cout
    d, g = cfg.embed_dim, cfg.grid_size
    hidden = int(d * cfg.pc_mlp_ratio)
    total += conv(cfg.in_chans, d, 1, bias=True) + g * g * d  # patch embedding + positions
    per_block = 2 * d + linear(d, 3 * d, cfg.pc_qkv_bias) + linear(d, d)  # LN1, attention
    per_block += 2 * d + linear(d, hidden) + linear(hidden, d)  # LN2, MLP
    total += cfg.pc_depth * per_block + 2 * d  # blocks + final LayerNorm
    return total + linear(d * g * g, cfg.num_classes)  # head


def test_parameter_formula_matches_the_published_count():
    # The formula is checked against the authors' figure, independent of our modules.
    assert expected_parameters(MMNetConfig()) == 9_438_841


@pytest.mark.parametrize("name", ["tiny", "paper-3class"])
def test_preset_parameter_count_follows_the_architecture(name):
    cfg = create_config(name)
    assert count_parameters(MMNet(cfg)) == expected_parameters(cfg)


def test_tiny_preset_grid_and_head():
    cfg = create_config("tiny")
    assert cfg.input_size == 112 and cfg.grid_size == 7
    model = MMNet(cfg)
    assert model.head.in_features == cfg.block_channels[-1] * 7 * 7
    # a wider tiny model has strictly more parameters (the count follows the config)
    wider = MMNetConfig.from_dict({**cfg.to_dict(), "stem_channels": 32})
    assert count_parameters(MMNet(wider)) > count_parameters(model)


def test_forward_is_head_of_features():
    model = make_tiny_model()
    onset, apex = torch.randn(2, 3, 112, 112), torch.randn(2, 3, 112, 112)
    with torch.inference_mode():
        feats = model.forward_features(onset, apex)
        torch.testing.assert_close(feats.fused, feats.motion_features + feats.position)
        torch.testing.assert_close(model.forward_head(feats), model(onset, apex))
        torch.testing.assert_close(model.forward_head(feats.fused), model(onset, apex))


@pytest.mark.parametrize("batch", [1, 4])
def test_output_shape(batch):
    model = make_tiny_model()
    x = torch.randn(batch, 3, 112, 112)
    assert model(x, x).shape == (batch, 5)


def test_paper_output_shape_batch1():
    model = MMNet(MMNetConfig()).eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        feats = model.forward_features(x, x + 0.05)
    assert feats.fused.shape == (1, 512, 14, 14)
    assert [a.shape[-1] for a in feats.attention] == [112, 56, 28, 14]


def test_gradients_reach_both_branches():
    model = make_tiny_model().train()
    onset, apex = torch.randn(2, 3, 112, 112), torch.randn(2, 3, 112, 112)
    model(onset, apex).logsumexp(dim=1).sum().backward()
    for name in ("stem.0.weight", "pc.patch_embed.weight", "pc.pos_embed", "blocks.0.conv1.weight"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_attention_maps_multiply_block_to_block():
    model = make_tiny_model()
    onset, apex = torch.randn(2, 3, 112, 112), torch.randn(2, 3, 112, 112)
    with torch.inference_mode():
        f = model.forward_features(onset, apex)
    assert torch.equal(f.attention[0], f.own_attention[0])
    for k in range(1, 4):
        pooled = F.max_pool2d(f.attention[k - 1], 3, 2, 1)
        torch.testing.assert_close(f.attention[k], f.own_attention[k] * pooled)
        # the product really changes the map (sigmoid values < 1)
        assert not torch.allclose(f.attention[k], f.own_attention[k])


def test_ca_block_output_depends_on_previous_map():
    torch.manual_seed(0)
    block = CABlock(8, 16, stride=2).eval()
    x = torch.randn(1, 8, 16, 16)
    prev = torch.rand(1, 1, 16, 16)
    with torch.inference_mode():
        out_prev, combined, own = block(x, prev)
        out_none, _, _ = block(x, None)
        out_half, _, _ = block(x, prev * 0.5)
    torch.testing.assert_close(combined, own * F.max_pool2d(prev, 3, 2, 1))
    assert not torch.allclose(out_prev, out_none)
    torch.testing.assert_close(out_half, out_prev * 0.5)


def test_eval_mode_is_deterministic():
    model = make_tiny_model()
    x, y = torch.randn(3, 3, 112, 112), torch.randn(3, 3, 112, 112)
    with torch.inference_mode():
        a, b = model(x, y), model(x, y)
    assert torch.equal(a, b)
    # batch composition does not change a sample's result
    with torch.inference_mode():
        single = model(x[:1], y[:1])
    torch.testing.assert_close(single, a[:1], rtol=1e-4, atol=1e-5)


def test_pc_input_resize_is_pinned_bilinear_without_antialias():
    model = make_tiny_model()
    onset = torch.randn(1, 3, 112, 112)
    small = F.interpolate(onset, size=(7, 7), mode="bilinear", align_corners=False, antialias=False)
    expected_tokens = model.pc.patch_embed(small).flatten(2).transpose(1, 2) + model.pc.pos_embed
    x = expected_tokens
    with torch.inference_mode():
        for blk in model.pc.blocks:
            x = blk(x)
        x = model.pc.norm(x).transpose(1, 2).reshape(1, -1, 7, 7)
        torch.testing.assert_close(model.pc(onset), x)


def test_config_validation_and_round_trip():
    cfg = create_config("tiny", num_classes=3)
    assert MMNetConfig.from_dict(cfg.to_dict()) == cfg
    assert create_config("paper-3class").pc_depth == 3
    with pytest.raises(ConfigError):
        MMNetConfig(input_size=100)
    with pytest.raises(ConfigError):
        MMNetConfig(num_classes=1)
    with pytest.raises(ConfigError):
        create_config("huge")
    with pytest.raises(ConfigError, match="newer mmnet-edge"):
        MMNetConfig.from_dict({**cfg.to_dict(), "future_knob": 1})


def test_torch_onnx_export_succeeds(tmp_path):
    onnx = pytest.importorskip("onnx")
    model = make_tiny_model()
    x = torch.randn(1, 3, 112, 112)
    path = tmp_path / "m.onnx"
    torch.onnx.export(
        model,
        (x, x),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["onset", "apex"],
        output_names=["logits"],
    )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


# ------------------------------------------------------------------------- model registry


def test_registry_lists_the_builtin_presets_and_builds_them():
    from mmnet_edge.model import create_model, list_models

    assert {"paper", "paper-3class", "tiny"} <= set(list_models())
    assert list_models("paper*") == ["paper", "paper-3class"]
    assert create_config("paper") == MMNetConfig()
    assert create_config("tiny", 3).num_classes == 3
    assert create_config("PAPER_3class") == create_config("paper-3class")
    model = create_model("tiny", num_classes=4)
    assert isinstance(model, MMNet) and model.head.out_features == 4
    with pytest.raises(ConfigError, match="3 classes"):
        create_config("paper-3class", 5)


def test_unknown_model_preset_lists_the_known_ones():
    from mmnet_edge.model import list_models

    with pytest.raises(ConfigError) as err:
        create_config("huge")
    for name in list_models():
        assert name in str(err.value)


def test_registered_preset_is_usable_everywhere_by_name():
    from mmnet_edge.model import list_models, register_model
    from mmnet_edge.model.registry import _REGISTRY

    @register_model("test-micro", recipe="tiny")
    def micro(num_classes=None):
        """A 64 px test preset."""
        return MMNetConfig(
            num_classes=num_classes or 5,
            input_size=64,
            stem_channels=8,
            conv1_channels=8,
            block_channels=(8, 8, 16, 16),
            pc_heads=2,
        )

    try:
        assert "test-micro" in list_models()
        assert create_config("test_micro", 2).input_size == 64
        with pytest.raises(ConfigError, match="already registered"):
            register_model("test-micro")(micro)
    finally:
        _REGISTRY.pop("test-micro")
