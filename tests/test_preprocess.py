"""preprocess.to_tensor honours the model's channel order (ModelMetadata.channel_order)."""

from __future__ import annotations

import numpy as np
import pytest

from mmnet_edge.errors import InputError
from mmnet_edge.preprocess import to_tensor

MEAN_RGB = (0.1, 0.2, 0.3)
STD_RGB = (0.5, 0.25, 0.125)


def test_bgr_model_gets_channel_swapped_input() -> None:
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255  # RGB input: pure red
    rgb = to_tensor(red, 8, MEAN_RGB, STD_RGB)
    # A BGR model lists its mean/std per tensor channel, i.e. in B, G, R order.
    bgr = to_tensor(red, 8, MEAN_RGB[::-1], STD_RGB[::-1], channel_order="BGR")
    # By hand: red channel (1 - 0.1) / 0.5 = 1.8; green -0.2 / 0.25 = -0.8; blue -0.3 / 0.125.
    np.testing.assert_allclose(rgb[0, :, 0, 0], [1.8, -0.8, -2.4], rtol=1e-6)
    np.testing.assert_allclose(bgr[0, :, 0, 0], [-2.4, -0.8, 1.8], rtol=1e-6)
    assert bgr.flags.c_contiguous and bgr.dtype == np.float32 and bgr.shape == (1, 3, 8, 8)


def test_bgr_is_the_rgb_tensor_with_channels_reversed() -> None:
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (20, 16, 3), dtype=np.uint8) for _ in range(2)]
    rgb = to_tensor(images, 12, MEAN_RGB, STD_RGB)
    bgr = to_tensor(images, 12, MEAN_RGB[::-1], STD_RGB[::-1], channel_order="bgr")
    np.testing.assert_allclose(bgr, rgb[:, ::-1], rtol=1e-6, atol=1e-6)
    default = to_tensor(images, 12, MEAN_RGB, STD_RGB, channel_order="RGB")
    np.testing.assert_array_equal(default, rgb)  # "RGB" is the default (today's behaviour)


def test_unknown_channel_order_is_an_input_error() -> None:
    with pytest.raises(InputError, match="channel_order must be 'RGB' or 'BGR'"):
        to_tensor(np.zeros((4, 4, 3), np.uint8), 4, MEAN_RGB, STD_RGB, channel_order="GBR")


def test_heldout_batches_follow_the_models_metadata():
    """One helper feeds every export validation, the probe and the acceptance run: batches of
    the asked size, the model's input size, and its channel order (a BGR model's channel 0
    is the RGB tensor's channel 2)."""
    from mmnet_edge.metadata import ModelMetadata
    from mmnet_edge.model import create_config
    from mmnet_edge.preprocess import heldout_batches

    rgb = ModelMetadata(config=create_config("tiny"), mean=(0.0,) * 3, std=(1.0,) * 3)
    bgr = ModelMetadata(
        config=create_config("tiny"), mean=(0.0,) * 3, std=(1.0,) * 3, channel_order="BGR"
    )
    a, b = heldout_batches(rgb, n=10, batch=4), heldout_batches(bgr, n=10, batch=4)
    assert [x[0].shape for x in a] == [(4, 3, 112, 112), (4, 3, 112, 112), (2, 3, 112, 112)]
    np.testing.assert_array_equal(a[0][1][:, ::-1], b[0][1])
    assert not np.array_equal(a[0][0], a[0][1])  # onset and apex differ (the motion)
