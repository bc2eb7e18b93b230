"""Synthetic micro-motion set: determinism, local class motions, clips, CASME II export."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mmnet_edge.data import load_dataset, loso_folds
from mmnet_edge.data.synthetic import (
    CLASS_NAMES,
    SyntheticConfig,
    generate_synthetic,
    make_clip,
    make_pair,
    random_identity,
    render_face,
)

CLEAN = SyntheticConfig(
    jitter_px=0.0, jitter_rotation_deg=0.0, illumination=0.0, noise_std=0.0, pose_shift_px=0.0,
    pose_rotation_deg=0.0, pose_scale=0.0,
)  # fmt: skip


def _energy(a: np.ndarray, b: np.ndarray, rows: slice) -> float:
    d = np.abs(a.astype(np.float32) - b.astype(np.float32)).mean(axis=2)
    return float(d[rows].sum())


def test_deterministic_from_seed() -> None:
    cfg = SyntheticConfig(subjects=2, samples_per_class=1, image_size=64, seed=3)
    a, b = generate_synthetic(cfg), generate_synthetic(cfg)
    c = generate_synthetic(replace(cfg, seed=4))
    assert len(a) == 2 * 1 * len(CLASS_NAMES) and a.class_names == CLASS_NAMES
    for sa, sb in zip(a, b):
        assert (sa.onset_image == sb.onset_image).all() and (sa.apex_image == sb.apex_image).all()
    assert any((sa.apex_image != sc.apex_image).any() for sa, sc in zip(a, c))
    assert a[0].onset_image.shape == (64, 64, 3) and a[0].onset_image.dtype == np.uint8


def test_class_motions_are_local_and_subtle() -> None:
    ident = random_identity(np.random.default_rng(0))
    brows = slice(int((ident.eye_y - 0.14) * 224), int((ident.eye_y - 0.01) * 224))
    mouth = slice(int((ident.mouth_y - 0.06) * 224), int((ident.mouth_y + 0.06) * 224))
    idx = {n: i for i, n in enumerate(CLASS_NAMES)}
    onset, surprise = make_pair(ident, idx["surprise"], np.random.default_rng(1), 224, CLEAN)
    assert _energy(onset, surprise, brows) > 5 * _energy(onset, surprise, mouth)
    onset, happy = make_pair(ident, idx["happiness"], np.random.default_rng(1), 224, CLEAN)
    assert _energy(onset, happy, mouth) > 5 * _energy(onset, happy, brows)
    # subtle: at most a few px of motion → small mean change over the face
    assert np.abs(onset.astype(int) - happy.astype(int)).mean() < 4


def test_nuisance_changes_the_whole_frame() -> None:
    ident = random_identity(np.random.default_rng(0))
    cfg = SyntheticConfig(amplitude_px=(0.0, 0.0))
    onset, apex = make_pair(ident, 0, np.random.default_rng(2), 224, cfg)
    d = np.abs(onset.astype(int) - apex.astype(int))
    assert d.mean() > 0.5  # noise / illumination / jitter even without motion
    assert render_face(ident, None, 96).shape == (96, 96, 3)


def test_make_clip_peaks_at_apex() -> None:
    ident = random_identity(np.random.default_rng(5))
    frames = make_clip(ident, 3, n_frames=15, apex_index=9, rng=np.random.default_rng(0),
                       size=128, cfg=replace(CLEAN, image_size=128))  # fmt: skip
    assert len(frames) == 15
    motion = [np.abs(f.astype(int) - frames[0].astype(int)).sum() for f in frames]
    assert int(np.argmax(motion)) == 9
    assert motion[14] < 0.05 * motion[9]  # back to neutral at the end


def test_casme2_export_reads_back(tmp_path: Path) -> None:
    cfg = SyntheticConfig(subjects=3, samples_per_class=2, image_size=64, seed=1)
    ds = generate_synthetic(cfg)
    from mmnet_edge.data.casme2_writer import write_casme2_layout

    root = write_casme2_layout(ds, tmp_path / "casme2")
    assert (root / "CASME2-coding-20190701.xlsx").is_file()
    back = load_dataset("casme2", root)
    assert back.class_names == ds.class_names
    assert back.class_counts() == ds.class_counts() == {n: 6 for n in CLASS_NAMES}
    assert back.subjects == ds.subjects == ["sub01", "sub02", "sub03"]
    mem = {s.key: s for s in ds}
    for s in back:
        ref = mem[s.key]
        assert s.label == ref.label
        onset, apex = s.load_pair()
        assert np.abs(onset.astype(int) - ref.onset_image.astype(int)).mean() < 2.0  # JPEG q98
    assert len(loso_folds(back.samples)) == 3


def test_bad_synthetic_config() -> None:
    from mmnet_edge.errors import DatasetError

    with pytest.raises(DatasetError):
        SyntheticConfig(subjects=0)
    with pytest.raises(DatasetError):
        SyntheticConfig(amplitude_px=(3.0, 1.0))


def test_heldout_pairs_are_the_seeded_set_from_other_subjects() -> None:
    from mmnet_edge.synth import heldout_pairs

    pairs = heldout_pairs(12, 64)
    assert len(pairs) == 10  # 2 subjects × 5 classes × max(1, 12 // 10)
    assert [p[2] for p in pairs] == [0, 1, 2, 3, 4] * 2
    onset, apex, _ = pairs[0]
    assert onset.shape == apex.shape == (64, 64, 3) and onset.dtype == np.uint8
    assert not np.array_equal(onset, apex)
    # the same pairs the dataset API draws for that seed, in set order
    ds = generate_synthetic(SyntheticConfig(subjects=2, samples_per_class=1, image_size=64,
                                            seed=1234))  # fmt: skip
    for (o, a, label), s in zip(pairs, ds):
        assert label == s.label
        assert np.array_equal(o, s.onset_image) and np.array_equal(a, s.apex_image)
    # deterministic, truncated to n, and disjoint from a default-seeded training set's faces
    again = heldout_pairs(3, 64)
    assert len(again) == 3 and all(np.array_equal(x[1], y[1]) for x, y in zip(again, pairs))
    train = generate_synthetic(SyntheticConfig(subjects=5, samples_per_class=1, image_size=64))
    assert not set(train.identities.values()) & set(ds.identities.values())
