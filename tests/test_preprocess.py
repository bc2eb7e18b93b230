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
