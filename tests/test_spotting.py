"""Apex spotting ignores noise, jitter and illumination; finds localised motion."""

from __future__ import annotations

import numpy as np

from mmnet_edge.data.synthetic import make_clip, random_identity
from mmnet_edge.runtime.spotting import motion_between, motion_curve, motion_signature, spot_apex


def test_planted_apex_found_in_most_synthetic_clips():
    hits, total = 0, 0
    for cls in range(4):  # the four AU-driven classes ("others" is a weak mixture)
        for seed in range(5):
            rng = np.random.default_rng(100 + seed)
            apex = 4 + seed
            frames = make_clip(random_identity(rng), cls, 14, apex, rng, size=112)
            found = spot_apex(motion_curve(frames), 0)
            hits += abs(found - apex) <= 1
            total += 1
    assert hits / total >= 0.8, f"{hits}/{total}"


def test_global_brightness_change_is_not_motion():
    rng = np.random.default_rng(0)
    face = rng.integers(40, 200, (112, 112, 3), dtype=np.uint8)
    brighter = np.clip(face.astype(int) + 25, 0, 255).astype(np.uint8)
    moved = face.copy()
    moved[20:40, 20:45] = face[22:42, 20:45]  # a local 2-px shift
    ref = motion_signature(face)
    assert motion_between(ref, motion_signature(brighter)) < 0.5
    assert motion_between(ref, motion_signature(moved)) > 2 * motion_between(
        ref, motion_signature(brighter)
    )
