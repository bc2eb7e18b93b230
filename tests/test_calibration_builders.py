"""Calibration-set builders: dataset reader, pair folder, videos — same preprocessing as runtime."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

from mmnet_edge.calibration.dataset import SmallCalibrationSetWarning
from mmnet_edge.calibration.sources import from_dataset, from_pair_folder, from_videos
from mmnet_edge.data.casme2_writer import write_casme2_layout
from mmnet_edge.data.synthetic import (
    SyntheticConfig,
    generate_synthetic,
    make_clip,
    random_identity,
)
from mmnet_edge.errors import CalibrationError
from mmnet_edge.metadata import IMAGENET_MEAN, IMAGENET_STD
from mmnet_edge.preprocess import to_tensor


def quiet(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCalibrationSetWarning)
        return fn(*args, **kwargs)


def test_from_dataset_reader_keeps_labels_and_histogram(tmp_path):
    ds = generate_synthetic(SyntheticConfig(subjects=2, samples_per_class=1, image_size=128))
    root = write_casme2_layout(ds, tmp_path / "casme2")
    cs = quiet(from_dataset, "casme2", root, 112, limit=1000)
    assert len(cs) == len(ds) == 10
    assert cs.has_labels and sorted(cs.labels.tolist()) == sorted(ds.labels)
    assert sum(cs.manifest["class_histogram"].values()) == 10
    assert cs.manifest["preprocessing"]["alignment"] == "dataset crops as released"
    limited = quiet(from_dataset, "casme2", root, 112, limit=4)
    assert len(limited) == 4


def test_pair_folder_is_preprocessed_like_the_runtime(tmp_path):
    ds = generate_synthetic(SyntheticConfig(subjects=1, samples_per_class=1, image_size=96))
    for i, s in enumerate(ds.samples):
        on, ap = s.load_pair()
        d = tmp_path / f"p{i}"
        d.mkdir()
        cv2.imwrite(str(d / "onset.png"), cv2.cvtColor(on, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(d / "apex.png"), cv2.cvtColor(ap, cv2.COLOR_RGB2BGR))
    cs = quiet(from_pair_folder, tmp_path, 112, align=False)
    assert len(cs) == 5 and not cs.has_labels and (cs.labels == -1).all()
    on0, ap0 = ds.samples[0].load_pair()
    np.testing.assert_array_equal(cs.onset[0], to_tensor(on0, 112, IMAGENET_MEAN, IMAGENET_STD)[0])
    np.testing.assert_array_equal(cs.apex[0], to_tensor(ap0, 112, IMAGENET_MEAN, IMAGENET_STD)[0])
    (tmp_path / "empty").mkdir()
    with pytest.raises(CalibrationError, match="onset"):
        from_pair_folder(tmp_path / "empty", 112, align=False)


def test_videos_use_the_spotted_apex(tmp_path):
    rng = np.random.default_rng(0)
    frames = make_clip(random_identity(rng), 3, 9, 5, rng, size=96)
    path = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (96, 96))
    for f in frames:
        w.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    w.release()
    cs = quiet(from_videos, [path], 112, align=False)
    assert len(cs) == 1
    from mmnet_edge.io import read_video
    from mmnet_edge.preprocess import as_rgb_uint8
    from mmnet_edge.runtime.spotting import motion_curve, spot_apex

    decoded = [as_rgb_uint8(f) for f in read_video(path)]
    apex = spot_apex(motion_curve(decoded), 0)
    assert apex > 0
    want = to_tensor(decoded[apex], 112, IMAGENET_MEAN, IMAGENET_STD)[0]
    np.testing.assert_array_equal(cs.apex[0], want)


def test_aligned_pairs_record_the_aligner_settings(tmp_path, detector_model_path):
    ds = generate_synthetic(SyntheticConfig(subjects=1, samples_per_class=1, image_size=224))
    on, ap = ds.samples[0].load_pair()
    cv2.imwrite(str(tmp_path / "a_onset.png"), cv2.cvtColor(on, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / "a_apex.png"), cv2.cvtColor(ap, cv2.COLOR_RGB2BGR))
    cs = quiet(from_pair_folder, tmp_path, 112, align=True, detector=str(detector_model_path))
    align = cs.manifest["preprocessing"]["alignment"]
    assert align["output_size"] == 112 and align["detector"] == "YuNetDetector"
    assert cs.onset.shape == (1, 3, 112, 112)
