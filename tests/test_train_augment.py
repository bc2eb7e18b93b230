"""Augmentation keeps onset/apex geometry identical; temporal jitter follows the recipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmnet_edge.data import Sample
from mmnet_edge.metadata import IMAGENET_MEAN, IMAGENET_STD
from mmnet_edge.preprocess import to_tensor
from mmnet_edge.train.augment import AugmentConfig, augment_pair, jitter_frames
from mmnet_edge.train.dataset import PairDataset


def test_same_geometry_for_onset_and_apex() -> None:
    rng = np.random.default_rng(0)
    onset = rng.integers(0, 256, (112, 112, 3), dtype=np.uint8)
    cfg = AugmentConfig()
    for seed in range(10):
        a, b = augment_pair(onset, onset.copy(), np.random.default_rng(seed), cfg)
        assert (a == b).all()  # identical input → identical output: one transform for both
    # the transform does change the frames (flip / rotation / crop happen)
    changed = [
        not (augment_pair(onset, onset, np.random.default_rng(s), cfg)[0] == onset).all()
        for s in range(10)
    ]
    assert all(changed)


def test_no_augment_is_identity() -> None:
    img = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    cfg = AugmentConfig(flip_p=0.0, rotation_deg=0.0, crop_padding=0)
    a, _ = augment_pair(img, img, np.random.default_rng(0), cfg)
    assert (a == img).all()


def test_temporal_jitter_window() -> None:
    frames = tuple(Path(f"img{i}.jpg") for i in range(100, 141))  # onset 100 … apex 140
    s = Sample("sub01", "EP01", frames[0], frames[-1], 0, "x", frame_paths=frames)
    k = int(0.15 * 40 / 4)  # = 1
    seen_on, seen_ap = set(), set()
    for seed in range(50):
        on, ap = jitter_frames(s, np.random.default_rng(seed))
        seen_on.add(frames.index(on))
        seen_ap.add(frames.index(ap))
    assert seen_on == set(range(0, k + 1))
    assert seen_ap == set(range(40 - k, 41))
    no_frames = Sample("sub01", "EP01", frames[0], frames[-1], 0, "x")
    assert jitter_frames(no_frames, np.random.default_rng(0)) is None


def test_eval_tensors_use_shared_preprocessing() -> None:
    rng = np.random.default_rng(2)
    onset = rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)
    apex = rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)
    s = Sample("s", "c", None, None, 1, "x", onset_image=onset, apex_image=apex)
    o, a, label = PairDataset([s], 112, IMAGENET_MEAN, IMAGENET_STD, None)[0]
    ref = to_tensor([onset, apex], 112, IMAGENET_MEAN, IMAGENET_STD)
    np.testing.assert_allclose(o.numpy(), ref[0], atol=1e-6)
    np.testing.assert_allclose(a.numpy(), ref[1], atol=1e-6)
    assert label == 1
