"""Face alignment on a real photograph: stable, onset-locked, typed errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mmnet_edge.align import (
    Aligner,
    CallerSuppliedDetector,
    Face,
    MediaPipeDetector,
    ReferenceTracker,
    YuNetDetector,
    resolve_detector_model,
    similarity_transform,
)
from mmnet_edge.align.transform import AlignmentTransform, apply_transform
from mmnet_edge.errors import DetectorUnavailableError, InputError, NoFaceError

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """The astronaut portrait (RGB), padded so transformed copies keep the whole face."""
    gray = (128, 128, 128)
    return cv2.copyMakeBorder(
        skimage_data.astronaut(), 128, 128, 128, 128, cv2.BORDER_CONSTANT, value=gray
    )


@pytest.fixture(scope="module")
def aligner(detector_model_path) -> Aligner:
    return Aligner(YuNetDetector(detector_model_path), output_size=224)


def similarity(img: np.ndarray, dx: float, dy: float, scale: float, angle: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += (dx, dy)
    return m


def transformed(img: np.ndarray, dx: float, dy: float, scale: float, angle: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = similarity(img, dx, dy, scale, angle)
    return cv2.warpAffine(
        img,
        m,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(128, 128, 128),
    )


def test_face_found_on_real_photo(aligner, photo):
    t = aligner.fit(photo, "rgb")
    assert t.face is not None and t.face.score > 0.8
    lm = t.landmarks_in_crop()
    assert np.abs(lm - aligner.template).max() < 8  # landmarks land on the template


@pytest.mark.parametrize(
    "dx,dy,scale,angle",
    [(25, -15, 1.0, 0), (0, 0, 0.8, 0), (0, 0, 1.25, 0), (10, 5, 1.0, 10), (-10, 0, 0.9, -10)],
)
def test_crops_agree_after_shift_scale_rotation(aligner, photo, dx, dy, scale, angle):
    ref = aligner.align_pair(photo, photo, "rgb")
    m = similarity(photo, dx, dy, scale, angle)
    moved = transformed(photo, dx, dy, scale, angle)
    got = aligner.align_pair(moved, moved, "rgb")
    # The same physical points (reference landmarks carried by the known transform)
    # must land on the same crop pixels.
    true_points = apply_transform(m, ref.transform.face.landmarks)
    err = np.linalg.norm(
        apply_transform(got.transform.matrix, true_points) - ref.transform.landmarks_in_crop(),
        axis=1,
    )
    # Within 2 px on average; YuNet's landmark jitter bounds the worst point (measured
    # ≤ 2.3 px over 20 random shifts/scales/rotations, docs/alignment.md).
    assert err.mean() < 2.0, err
    assert err.max() < 3.0, err
    mad = np.abs(ref.onset.astype(np.float32) - got.onset.astype(np.float32)).mean()
    naive = np.abs(ref.onset.astype(np.float32) - aligner.warp(moved, ref.transform, "rgb")).mean()
    assert mad < 0.6 * naive, (mad, naive)


def planted_warp(img: np.ndarray, center: tuple[float, float], radius: float, px: float):
    """Move pixels within ``radius`` of ``center`` up by up to ``px`` (smooth bump)."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bump = np.exp(-((xx - center[0]) ** 2 + (yy - center[1]) ** 2) / (2 * (radius / 2) ** 2))
    bump[bump < 0.01] = 0
    return cv2.remap(img, xx, yy + px * bump, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def test_onset_locked_alignment_keeps_only_the_planted_motion(aligner, photo):
    onset_face = aligner.fit(photo, "rgb").face
    mouth = onset_face.landmarks[3:5].mean(0)
    radius = 0.25 * onset_face.box[2]
    apex = planted_warp(photo, (float(mouth[0]), float(mouth[1])), radius, 2.0)

    locked = aligner.align_pair(photo, apex, "rgb")
    diff_locked = np.abs(locked.onset.astype(np.float32) - locked.apex.astype(np.float32)).mean(2)
    # region of the warp in crop coordinates
    c = apply_transform(locked.transform.matrix, mouth[None])[0]
    r = radius * np.hypot(*locked.transform.matrix[0, :2]) * 2.0
    yy, xx = np.mgrid[0:224, 0:224]
    outside = (xx - c[0]) ** 2 + (yy - c[1]) ** 2 > r**2
    assert diff_locked[~outside].mean() > 1.0  # the motion is there
    assert diff_locked[outside].max() == 0.0  # and nothing else

    # Independent per-frame alignment: a second fit on the apex moves the whole crop.
    t_apex = aligner.fit(apex, "rgb")
    indep_apex = aligner.warp(apex, t_apex, "rgb")
    diff_indep = np.abs(locked.onset.astype(np.float32) - indep_apex.astype(np.float32)).mean(2)
    assert not np.allclose(t_apex.matrix, locked.transform.matrix)
    assert diff_indep[outside].mean() > 0.05
    assert diff_indep[outside].mean() > 10 * diff_locked[outside].mean()


def shifted_crop(crop: np.ndarray, m: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``crop`` as it looks when the frame moved by (dx, dy) and ``m`` stayed the same."""
    t = m[:, :2] @ (dx, dy)
    s = crop.shape[0]
    move = np.float64([[1, 0, t[0]], [0, 1, t[1]]])
    return cv2.warpAffine(crop, move, (s, s), borderMode=cv2.BORDER_REPLICATE)


def test_clip_uses_one_transform(aligner, photo):
    shifts = [(0, 0), (14, 0), (0, -10)]  # frames 1 and 2: the whole frame moved
    frames = [transformed(photo, dx, dy, 1, 0) for dx, dy in shifts]
    clip = aligner.align_clip(frames, reference=0, color="rgb")
    assert clip.reference == 0 and len(clip.frames) == 3
    m = clip.transform.matrix
    np.testing.assert_allclose(m, aligner.fit(frames[0], "rgb").matrix, atol=1e-9)
    inner = (slice(16, -16), slice(16, -16))
    for k, (dx, dy) in enumerate(shifts):
        assert np.array_equal(clip.frames[k], aligner.warp(frames[k], clip.transform, "rgb"))
        if k == 0:
            continue
        # the face moved inside the crop by the transform's image of the frame's shift;
        # a transform re-fitted per frame would have cancelled it
        want = shifted_crop(clip.frames[0], m, dx, dy)
        err_moved = np.abs(want[inner].astype(float) - clip.frames[k][inner]).mean()
        err_still = np.abs(clip.frames[0][inner].astype(float) - clip.frames[k][inner]).mean()
        assert err_moved < 0.25 * err_still, (k, err_moved, err_still)
    # another reference frame: the transform is fitted there (the face 10 px higher)
    other = aligner.align_clip(frames, reference=-1, color="rgb")
    assert other.reference == 2
    np.testing.assert_allclose(other.transform.matrix, aligner.fit(frames[2], "rgb").matrix)
    lm0, lm2 = clip.face.landmarks, other.face.landmarks
    np.testing.assert_allclose((lm2 - lm0).mean(0), (0, -10), atol=1.0)


def test_warp_puts_each_point_where_the_matrix_says():
    """Bright dots at known pixels land at ``matrix @ point`` in the crop (sub-pixel)."""
    img = np.zeros((400, 500, 3), np.uint8)
    pts = np.array([[120.0, 100.0], [300.0, 140.0], [200.0, 260.0], [380.0, 300.0]])
    for x, y in pts:
        cv2.circle(img, (int(x), int(y)), 6, (255, 255, 255), -1)
    th, s = np.radians(20), 0.4
    m = np.array(
        [[s * np.cos(th), -s * np.sin(th), 30.5], [s * np.sin(th), s * np.cos(th), -12.25]]
    )
    crop = Aligner(output_size=224).warp(img, AlignmentTransform(m, None, 224), "bgr")
    assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8
    want = apply_transform(m, pts)
    grey = crop[..., 0].astype(np.float64)
    yy, xx = np.mgrid[0:224, 0:224]
    for wx, wy in want:
        near = ((xx - wx) ** 2 + (yy - wy) ** 2 < 6**2) * grey  # this dot only
        got = np.array([(near * xx).sum(), (near * yy).sum()]) / near.sum()
        np.testing.assert_allclose(got, (wx, wy), atol=0.3)
    assert grey.sum() == pytest.approx(4 * grey[near > 0].sum(), rel=0.1)  # nothing else


def test_grayscale_and_bgr_inputs(aligner, photo):
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    pair = aligner.align_pair(gray, gray, "rgb")
    assert pair.onset.shape == (224, 224, 3)
    assert np.array_equal(pair.onset[..., 0], pair.onset[..., 1])
    rgb = aligner.align_pair(photo, photo, "rgb").onset
    bgr = aligner.align_pair(photo[:, :, ::-1].copy(), photo[:, :, ::-1].copy(), "bgr").onset
    assert np.array_equal(rgb, bgr)  # output is RGB either way


def test_caller_supplied_box_and_landmarks_need_no_detector(photo, aligner):
    face = aligner.fit(photo, "rgb").face
    plain = Aligner(detector=None, output_size=112)
    apex = planted_warp(photo, face.center, 20, 2.0)
    by_box = plain.align_pair(photo, apex, "rgb", box=face.box)
    m = by_box.transform.matrix
    assert m[0, 1] == m[1, 0] == 0 and m[0, 0] == m[1, 1]  # box: scale + translation only
    cx, cy = apply_transform(m, np.array([face.center]))[0]
    assert abs(cx - 56) < 1e-6 and abs(cy - 56) < 1e-6  # box centre → crop centre
    # the same transform on both frames: identical outside the planted motion
    assert np.array_equal(by_box.onset[:25], by_box.apex[:25])
    by_lm = plain.align_pair(photo, photo, "rgb", landmarks=face.landmarks)
    assert by_box.onset.shape == by_lm.onset.shape == (112, 112, 3)
    np.testing.assert_allclose(by_lm.transform.landmarks_in_crop(), plain.template, atol=3)
    with pytest.raises(DetectorUnavailableError, match="box=/landmarks="):
        plain.align_pair(photo, photo, "rgb")
    with pytest.raises(InputError, match="K ≥ 5"):
        plain.fit(photo, "rgb", landmarks=np.zeros((3, 2)))
    with pytest.raises(InputError, match="positive"):
        plain.fit(photo, "rgb", box=(10, 10, 0, 5))


def test_a_caller_face_outside_or_degenerate_for_the_image_is_refused(photo, aligner):
    """Issue 23: a box off the image used to give a confident prediction from stretched edge
    pixels. What a detector returns on a real photo passes the same checks."""
    face = aligner.fit(photo, "rgb").face  # the detector's own result, checked too
    plain = Aligner(detector=None, output_size=112)
    h, w = photo.shape[:2]
    x, y, bw, bh = face.box
    plain.fit(photo, "rgb", box=face.box)
    plain.fit(photo, "rgb", box=(w - bw * 0.6, y, bw, bh))  # 60 % inside: a face at the edge
    cases = {
        "outside the image": (w + 50, y, bw, bh),  # entirely to the right
        "% outside": (-bw * 0.8, y, bw, bh),  # 80 % off the left edge
        "smaller than": (x, y, 3, 3),
        "over 3× the image": (0, 0, 10 * w, 10 * h),
    }
    for match, box in cases.items():
        with pytest.raises(InputError, match=match.replace("×", ".")):
            plain.fit(photo, "rgb", box=box)
    off = face.landmarks.copy()
    off[:, 0] += 3 * w
    with pytest.raises(InputError, match="outside the"):
        plain.fit(photo, "rgb", landmarks=off)
    same_eyes = face.landmarks.copy()
    same_eyes[1] = same_eyes[0] + 0.5
    with pytest.raises(InputError, match="degenerate"):
        plain.fit(photo, "rgb", landmarks=same_eyes)


def test_what_a_detector_returns_passes_the_caller_checks(photo, aligner):
    """The thresholds never refuse a real detection: faces at the frame edge, 13-px faces,
    faces rotated 60–90° (YuNet's eye distance falls to ~0.16 of the box width there)."""
    from mmnet_edge.align.face_checks import check_face_in_image

    h, w = photo.shape[:2]
    views = {
        "edge": cv2.warpAffine(photo, np.float32([[1, 0, -330], [0, 1, 0]]), (w, h)),
        "tiny": cv2.resize(photo, None, fx=0.15, fy=0.15, interpolation=cv2.INTER_AREA),
        **{f"rot{a}": transformed(photo, 0, 0, 1.0, a) for a in (60, 90)},
    }
    for name, view in views.items():
        faces = aligner.detector.detect(cv2.cvtColor(view, cv2.COLOR_RGB2BGR))
        assert faces, name
        for face in faces:
            check_face_in_image(face, view.shape)  # raises on a refusal


def test_a_caller_face_that_is_not_a_face_in_pixels_is_refused(photo, aligner):
    face = aligner.fit(photo, "rgb").face
    h, w = photo.shape[:2]
    plain = Aligner(detector=None, output_size=112)
    with pytest.raises(InputError, match="four finite numbers"):  # used to pass unchecked
        plain.fit(photo, "rgb", face=Face((np.nan, 0.0, 100.0, 100.0), face.landmarks))
    with pytest.raises(InputError, match="four finite numbers"):  # used to divide by zero
        plain.fit(photo, "rgb", face=Face((10.0, 10.0, 0.0, 0.0), np.zeros((0, 2), np.float32)))
    normalised = face.landmarks / np.array([w, h], np.float32)  # MediaPipe's convention
    with pytest.raises(InputError, match=f"normalised.*multiply x by {w}"):
        plain.fit(photo, "rgb", landmarks=normalised)
    close = face.landmarks.copy()
    close[1] = close[0] + (2.5, 0)  # eyes 2.5 px apart in a ~90 px face
    with pytest.raises(InputError, match="degenerate"):
        plain.fit(photo, "rgb", box=face.box, landmarks=close)
    x, y, bw, bh = face.box
    with pytest.raises(InputError, match="box and landmarks must describe the same face"):
        plain.fit(photo, "rgb", box=(x + 3 * bw, y, bw, bh), landmarks=face.landmarks)
    plain.fit(photo, "rgb", box=face.box, landmarks=face.landmarks)  # the real pair passes


def test_a_caller_tracker_face_is_checked_and_taken_as_given(photo, aligner):
    """CallerSuppliedDetector used to be 'refined' at the default refine=2: re-detecting on
    a warped view returned its image-space face again, and the landmarks ended up off the
    image. Its face is now the caller's input: checked, and used as given."""
    face = aligner.fit(photo, "rgb").face
    got = Aligner(CallerSuppliedDetector(landmarks=face.landmarks)).fit(photo, "rgb").face
    np.testing.assert_allclose(got.landmarks, face.landmarks)
    h, w = photo.shape[:2]
    outside = Aligner(CallerSuppliedDetector(box=(w + 10, 0, 100, 100)))
    with pytest.raises(InputError, match="entirely outside the image"):
        outside.fit(photo, "rgb")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"drift_px": float("nan")}, "drift_px must be a finite number"),
        ({"drift_px": -1}, "drift_px must be ≥ 0"),
        ({"check_every": 0}, "check_every must be ≥ 1"),
        ({"check_every": 2.5}, "check_every must be an integer"),
        ({"smoothing": 1.0}, "smoothing must be ≥ 0 and < 1"),
        ({"smoothing": float("nan")}, "smoothing must be a finite number"),
        ({"snap_px": "far"}, "snap_px must be a number"),
    ],
)
def test_tracker_options_are_checked_when_made(options, match):
    with pytest.raises(InputError, match=match):
        ReferenceTracker(Aligner(detector=None), **options)


def test_caller_supplied_detector_drives_a_stream(photo, aligner):
    """A robot's own face tracker feeds the stream aligner; no model file involved."""
    face = aligner.fit(photo, "rgb").face
    tracker_det = CallerSuppliedDetector(landmarks=face.landmarks)
    tracker = ReferenceTracker(Aligner(tracker_det, refine=0), drift_px=3.0, check_every=1)
    first = tracker.update(photo, "rgb")
    tracker_det.set(landmarks=face.landmarks + 0.5)  # tracker jitter: keep the reference
    assert np.array_equal(tracker.update(photo, "rgb"), first)
    tracker_det.set(landmarks=face.landmarks + 30)  # the person moved: re-fit
    tracker.update(photo, "rgb")
    assert tracker.refits == 1 and tracker.last_drift > 3.0
    tracker_det.set()  # face lost: the last reference is kept
    tracker.update(photo, "rgb")
    assert tracker.misses == 1 and tracker.refits == 1


def test_multi_face_policy():
    faces = [
        Face((0, 0, 100, 100), np.zeros((5, 2), np.float32), 0.7),
        Face((400, 300, 60, 60), np.zeros((5, 2), np.float32), 0.99),
        Face((10, 10, 20, 20), np.zeros((5, 2), np.float32), 1.0),
    ]
    shape = (720, 900, 3)
    assert Aligner(policy="largest").choose(faces, shape).score == 0.7
    assert Aligner(policy="score").choose(faces, shape).score == 0.99  # 20px face too small
    assert Aligner(policy="central").choose(faces, shape).box[0] == 400
    with pytest.raises(NoFaceError, match="min_face"):
        Aligner(min_face=200).choose(faces, shape)


def test_no_face_raises(aligner):
    noise = np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)
    with pytest.raises(NoFaceError):
        aligner.align_pair(noise, noise, "rgb")


def test_missing_detector_model_message(tmp_path, monkeypatch):
    monkeypatch.delenv("MMNET_EDGE_FACE_DETECTOR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("MMNET_EDGE_OFFLINE", "1")  # tests never touch the network
    with pytest.raises(DetectorUnavailableError, match="face_detection_yunet_2026may.onnx"):
        resolve_detector_model()
    with pytest.raises(DetectorUnavailableError, match="not found .argument"):
        YuNetDetector(tmp_path / "missing.onnx")
    monkeypatch.setenv("MMNET_EDGE_FACE_DETECTOR", str(tmp_path / "nope.onnx"))
    with pytest.raises(DetectorUnavailableError, match="MMNET_EDGE_FACE_DETECTOR"):
        resolve_detector_model()


def test_wrong_inputs_raise_typed_errors(aligner, photo):
    with pytest.raises(InputError, match="uint8"):
        aligner.align_pair(photo.astype(np.float32), photo, "rgb")
    with pytest.raises(InputError, match="sizes differ"):
        aligner.align_pair(photo, photo[:-1], "rgb")
    with pytest.raises(InputError, match="shape"):
        aligner.align_pair(photo[..., None, :], photo, "rgb")
    with pytest.raises(InputError, match="empty"):
        aligner.align_pair(np.zeros((0, 0, 3), np.uint8), np.zeros((0, 0, 3), np.uint8), "rgb")


def test_similarity_transform_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    th, s, t = 0.3, 1.7, np.array([5.0, -3.0])
    rot = s * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    m = similarity_transform(src, src @ rot.T + t)
    np.testing.assert_allclose(m[:, :2], rot, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], t, atol=1e-9)


def test_mediapipe_is_optional_and_says_what_is_missing(tmp_path):
    try:
        import mediapipe  # noqa: F401
    except Exception:
        with pytest.raises(DetectorUnavailableError, match="mediapipe"):
            MediaPipeDetector(tmp_path / "face_landmarker.task")
    else:
        with pytest.raises(DetectorUnavailableError, match="face_landmarker.task"):
            MediaPipeDetector(tmp_path / "face_landmarker.task")


def test_for_model_uses_the_model_input_size():
    from mmnet_edge.metadata import ModelMetadata
    from mmnet_edge.model import MMNetConfig, create_config

    assert Aligner.for_model(create_config("tiny")).output_size == 112
    assert Aligner.for_model(ModelMetadata(config=MMNetConfig())).output_size == 224


def test_reference_tracker_smoothing_moves_part_way(aligner, photo):
    tracker = ReferenceTracker(aligner, drift_px=2.0, check_every=1, smoothing=0.5)
    tracker.update(photo, "rgb", box=(200, 200, 100, 100))
    start = tracker.transform.matrix.copy()
    tracker.update(photo, "rgb", box=(210, 200, 100, 100))  # 10 px right
    target = Aligner.transform_from_box(aligner, (210, 200, 100, 100))
    np.testing.assert_allclose(tracker.transform.matrix, (start + target) / 2, atol=1e-9)
    tracker.update(photo, "rgb", box=(400, 200, 100, 100))  # beyond snap_px: jump
    np.testing.assert_allclose(
        tracker.transform.matrix, aligner.transform_from_box((400, 200, 100, 100)), atol=1e-9
    )


def test_reference_tracker_refits_only_on_drift(aligner, photo):
    tracker = ReferenceTracker(aligner, drift_px=4.0, check_every=1)
    a = tracker.update(photo, "rgb")
    first = tracker.transform
    assert np.array_equal(a, aligner.warp(photo, first, "rgb"))
    jitter = transformed(photo, 0.5, 0, 1, 0)
    b = tracker.update(jitter, "rgb")  # sub-threshold jitter: the reference is kept
    assert tracker.refits == 0 and tracker.transform is first
    assert np.array_equal(b, aligner.warp(jitter, first, "rgb"))
    tracker.update(transformed(photo, 40, 20, 1, 0), "rgb")  # the person moved
    assert tracker.refits == 1
    # the new reference puts the moved face where the old one put the face: the same
    # physical points (landmarks + the known shift) land on the same crop pixels
    pts = first.face.landmarks.astype(np.float64)
    err = np.linalg.norm(
        apply_transform(tracker.transform.matrix, pts + (40, 20))
        - apply_transform(first.matrix, pts),
        axis=1,
    )
    assert err.max() < 3.0, err  # YuNet's landmark jitter (see test_crops_agree_after_...)
