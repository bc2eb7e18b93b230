"""Runtime: backends agree, alignment on a real photo, clips, streams, threads, errors."""

from __future__ import annotations

import importlib.machinery
import json
import sys
import threading
import types

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from mmnet_edge import Runtime
from mmnet_edge.align import Aligner, YuNetDetector
from mmnet_edge.data.synthetic import make_clip, random_identity
from mmnet_edge.errors import (
    BackendUnavailableError,
    CheckpointError,
    EngineCompatibilityError,
    InputError,
    NoFaceError,
)
from mmnet_edge.export.onnx import export_onnx, read_onnx_metadata
from mmnet_edge.runtime.backends import onnx_variant_path
from mmnet_edge.runtime.loader import open_runner


@pytest.fixture(scope="module")
def onnx_model(tiny_checkpoint, tmp_path_factory):
    return export_onnx(tiny_checkpoint, tmp_path_factory.mktemp("rt") / "model.onnx").path


def crops(seed: int, n: int = 1):
    rng = np.random.default_rng(seed)
    on = rng.integers(0, 255, (n, 140, 130, 3), dtype=np.uint8)
    ap = on.copy()
    ap[:, 50:80, 40:90] = np.clip(ap[:, 50:80, 40:90].astype(int) + 40, 0, 255)
    return on, ap


def test_torch_and_onnxruntime_agree(tiny_checkpoint, onnx_model):
    with (
        Runtime(tiny_checkpoint, backend="torch", align=False) as t,
        Runtime(onnx_model, backend="onnxruntime", align=False) as o,
    ):
        assert (t.backend, o.backend) == ("torch", "onnxruntime")
        for seed in range(3):
            on, ap = crops(seed)
            pt, po = t.predict(on[0], ap[0]), o.predict(on[0], ap[0])
            assert pt.label == po.label and pt.index == po.index
            for name in t.class_names:
                assert abs(pt.probabilities[name] - po.probabilities[name]) < 1e-4
            assert abs(sum(pt.probabilities.values()) - 1) < 1e-6
            assert {"decode", "align", "preprocess", "inference", "postprocess"} <= set(
                pt.timings_ms
            )


def test_auto_backend_is_reported(tiny_checkpoint, onnx_model):
    with Runtime(onnx_model, align=False) as rt:
        assert rt.backend == "onnxruntime" and "ONNX" in rt.backend_reason
    with Runtime(tiny_checkpoint, align=False) as rt:
        assert rt.backend == "torch" and rt.backend_reason


def test_metadata_not_caller_decides_preprocessing(onnx_model):
    with Runtime(onnx_model, align=False) as rt:
        assert rt.input_size == 112
        assert rt.class_names[0] == "happiness"


def test_predict_batch_equals_single_predictions(onnx_model):
    on, ap = crops(5, n=5)
    with Runtime(onnx_model, align=False) as rt:
        batch = rt.predict_batch(list(zip(on, ap)))
        single = [rt.predict(o, a) for o, a in zip(on, ap)]
    for b, s in zip(batch, single):
        assert b.index == s.index
        np.testing.assert_allclose(b.logits, s.logits, rtol=1e-4, atol=1e-5)


def test_predict_on_a_real_photo_with_alignment(onnx_model, detector_model_path):
    skimage_data = pytest.importorskip("skimage.data")
    photo = skimage_data.astronaut()[:, :, ::-1].copy()  # BGR, as OpenCV would read it
    apex = photo.copy()
    # a subtle lip-corner raise: move a small patch 2 px upwards
    apex[300:320, 230:280] = photo[302:322, 230:280]
    with Runtime(onnx_model, detector=str(detector_model_path)) as rt:
        pred = rt.predict(photo, apex)
    # the same pair by hand: onset-fitted crops, metadata mean/std, a bare ORT session
    meta = read_onnx_metadata(onnx_model)
    aligner = Aligner(YuNetDetector(detector_model_path), output_size=meta.input_size)
    pair = aligner.align_pair(photo, apex, "bgr")

    def tensor(crop: np.ndarray) -> np.ndarray:
        x = (crop.astype(np.float32) / 255 - np.float32(meta.mean)) / np.float32(meta.std)
        return x.transpose(2, 0, 1)[None].astype(np.float32)

    sess = ort.InferenceSession(str(onnx_model), providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"onset": tensor(pair.onset), "apex": tensor(pair.apex)})[0][0]
    np.testing.assert_allclose(pred.logits.ravel(), logits, rtol=1e-4, atol=1e-5)
    assert pred.index == int(logits.argmax())
    assert pred.label == meta.class_names[int(logits.argmax())]
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert list(pred.probabilities) == list(meta.class_names)
    np.testing.assert_allclose(list(pred.probabilities.values()), probs, atol=1e-6)
    x, y, w, h = pred.face_box
    assert 150 < x + w / 2 < 300 and 50 < y + h / 2 < 220  # the astronaut's face
    assert pred.timings_ms["align"] > 0


def test_predict_accepts_paths(onnx_model, tmp_path):
    on, ap = crops(1)
    cv2.imwrite(str(tmp_path / "on.png"), on[0])
    cv2.imwrite(str(tmp_path / "ap.png"), ap[0])
    with Runtime(onnx_model, align=False) as rt:
        by_path = rt.predict(tmp_path / "on.png", tmp_path / "ap.png")
        by_array = rt.predict(on[0], ap[0], color="bgr")
    assert by_path.index == by_array.index


@pytest.mark.parametrize("apex_at", [6, 11])
def test_predict_clip_finds_the_planted_apex(onnx_model, apex_at):
    rng = np.random.default_rng(apex_at)
    frames = make_clip(random_identity(rng), 3, 16, apex_at, rng, size=112)
    with Runtime(onnx_model, align=False, color="rgb") as rt:
        res = rt.predict_clip(frames)
    assert abs(res.apex_index - apex_at) <= 1
    assert res.onset_index == 0 and len(res.motion) == 16
    assert res.motion[0] == 0.0


def test_predict_clip_from_video_file(onnx_model, tmp_path):
    rng = np.random.default_rng(3)
    frames = make_clip(random_identity(rng), 3, 14, 8, rng, size=112)
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 25, (112, 112))  # lossless
    for f in frames:
        writer.write(f[:, :, ::-1])
    writer.release()
    with Runtime(onnx_model, align=False) as rt:
        res = rt.predict_clip(path)
    assert abs(res.apex_index - 8) <= 1


def test_stream_yields_one_prediction_per_event_with_bounded_memory(onnx_model):
    rng = np.random.default_rng(7)
    event = make_clip(random_identity(rng), 3, 15, 7, rng, size=112)
    with Runtime(onnx_model, align=False, color="rgb") as rt:
        stream = rt.stream(window=20, threshold=2.5)
        results = []
        for frame in [event[0]] * 8 + event + [event[-1]] * 8:
            r = stream.push(frame)
            assert stream.buffered <= 20
            if r is not None:
                results.append(r)
    assert len(results) >= 1
    assert abs(results[0].apex_index - (8 + 7)) <= 1


def test_threads_give_serial_results(onnx_model):
    pairs = [crops(s) for s in range(4)]
    with Runtime(onnx_model, align=False) as rt:
        expected = [rt.predict(on[0], ap[0]).logits for on, ap in pairs]
        errors: list[str] = []

        def work(k: int) -> None:
            on, ap = pairs[k]
            for _ in range(25):
                got = rt.predict(on[0], ap[0]).logits
                if not np.allclose(got, expected[k], rtol=1e-5, atol=1e-6):
                    errors.append(f"thread {k} diverged")

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_close_releases_and_blocks_further_use(onnx_model):
    rt = Runtime(onnx_model, align=False)
    rt.close()
    rt.close()  # idempotent
    on, ap = crops(0)
    with pytest.raises(InputError, match="closed"):
        rt.predict(on[0], ap[0])


def test_input_errors(onnx_model):
    on, ap = crops(0)
    with Runtime(onnx_model, align=False) as rt:
        with pytest.raises(InputError, match="uint8"):
            rt.predict(on[0].astype(np.float32), ap[0])
        with pytest.raises(InputError, match="shape"):
            rt.predict(on[0][:, :, :2], ap[0][:, :, :2])
        with pytest.raises(InputError, match="empty"):
            rt.predict(np.zeros((0, 4, 3), np.uint8), np.zeros((0, 4, 3), np.uint8))
        with pytest.raises(InputError, match="sizes differ"):
            rt.predict(on[0], ap[0][:-2])
        with pytest.raises(InputError, match="not found"):
            rt.predict("/nonexistent/on.png", "/nonexistent/ap.png")
        with pytest.raises(InputError, match="N×3×112×112"):
            rt.run_tensors(
                np.zeros((1, 3, 64, 64), np.float32), np.zeros((1, 3, 64, 64), np.float32)
            )
        with pytest.raises(InputError, match="two frames"):
            rt.predict_clip([on[0]])


def test_unreadable_video_and_unknown_model(onnx_model, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"definitely not a video")
    with Runtime(onnx_model, align=False) as rt, pytest.raises(InputError, match="video"):
        rt.predict_clip(bad)
    weird = tmp_path / "model.pkl"
    weird.write_bytes(b"x")
    with pytest.raises(InputError, match="unknown model file type"):
        Runtime(weird, align=False)
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"garbage")
    with pytest.raises(CheckpointError):
        Runtime(corrupt, align=False)


def test_no_face_with_alignment(onnx_model, detector_model_path):
    noise = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    with Runtime(onnx_model, detector=str(detector_model_path)) as rt, pytest.raises(NoFaceError):
        rt.predict(noise, noise)


@pytest.fixture
def fake_engine(tmp_path, onnx_model):
    """An engine file and a writer for its sidecar (metadata of the tiny model)."""
    engine = tmp_path / "model.fp16.engine"
    engine.write_bytes(b"\x00" * 16)
    meta = read_onnx_metadata(onnx_model).to_dict()

    def sidecar(trt_version: str, cc: str) -> None:
        side = {"tensorrt_version": trt_version, "metadata": meta, "precision": "fp16"}
        side["format"] = "mmnet-edge-engine/1"
        side["gpu"] = {"name": "Jetson Orin" if cc == "8.7" else "GPU", "compute_capability": cc}
        (tmp_path / "model.fp16.engine.json").write_text(json.dumps(side))

    return engine, sidecar


@pytest.fixture
def fake_tensorrt(monkeypatch):
    """A ``tensorrt`` 10.7.0 module that is importable (nothing past the checks is used)."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = "10.7.0"
    trt.__spec__ = importlib.machinery.ModuleSpec("tensorrt", None)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    return trt


class FakeBuffers:
    """Injected device buffers that report ``facts`` (the runner's buffer seam)."""

    name = "fake"
    supports_graphs = False

    def __init__(self, facts: dict) -> None:
        self.facts = facts
        self.destroyed = False

    def device_facts(self) -> dict:
        return self.facts

    def destroy(self) -> None:
        self.destroyed = True


def test_engine_without_tensorrt(fake_engine, monkeypatch):
    engine, sidecar = fake_engine
    sidecar("10.7.0", "8.6")
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # not importable, whatever is installed
    with pytest.raises(
        BackendUnavailableError,
        match=r"TensorRT not installed.*pip install 'mmnet-edge\[tensorrt\]'",
    ):
        Runtime(engine, align=False)


def test_engine_without_its_sidecar(fake_engine, fake_tensorrt):
    engine, _ = fake_engine
    buffers = FakeBuffers({"name": "GPU", "compute_capability": "8.6"})
    with pytest.raises(
        EngineCompatibilityError, match=r"sidecar model\.fp16\.engine\.json is missing"
    ):
        Runtime(engine, align=False, buffers=buffers)


def test_engine_without_a_gpu(fake_engine, fake_tensorrt):
    engine, sidecar = fake_engine
    sidecar("10.7.0", "8.6")
    buffers = FakeBuffers({})
    with pytest.raises(BackendUnavailableError, match="needs a CUDA device; none is visible"):
        Runtime(engine, align=False, buffers=buffers)
    assert buffers.destroyed  # nothing leaks on the way out


def test_engine_for_another_gpu_or_tensorrt(fake_engine, fake_tensorrt):
    engine, sidecar = fake_engine
    gpu = {"name": "GPU", "compute_capability": "8.6"}
    sidecar("10.7.0", "8.7")  # built on a Jetson Orin
    with pytest.raises(
        EngineCompatibilityError, match=r"compute capability 8\.7 \(Jetson Orin\), this GPU is 8\.6"
    ):
        Runtime(engine, align=False, buffers=FakeBuffers(gpu))
    sidecar("10.3.0", "8.6")  # built with another TensorRT
    with pytest.raises(
        EngineCompatibilityError, match=r"TensorRT 10\.3\.0, this machine has 10\.7\.0"
    ):
        Runtime(engine, align=False, buffers=FakeBuffers(gpu))


def test_cpu_int8_prefers_the_cpu_target_model(tmp_path):
    for name in ("model.onnx", "model.int8.onnx", "model.int8-cpu.onnx", "model.fp16.onnx"):
        (tmp_path / name).write_bytes(b"")
    base = tmp_path / "model.onnx"
    assert onnx_variant_path(base, "int8", "cpu").name == "model.int8-cpu.onnx"
    assert onnx_variant_path(base, "int8", "cuda").name == "model.int8.onnx"
    assert onnx_variant_path(base, "fp16", "cuda").name == "model.fp16.onnx"
    (tmp_path / "model.int8-cpu.onnx").unlink()
    assert onnx_variant_path(base, "int8", "cpu").name == "model.int8.onnx"
    with pytest.raises(InputError, match="export"):
        onnx_variant_path(tmp_path / "other.onnx", "fp16", "cpu")


def test_torch_fp16_on_cpu_is_refused_clearly(tiny_checkpoint):
    with pytest.raises(BackendUnavailableError, match="CUDA"):
        open_runner(tiny_checkpoint, backend="torch", device="cpu", precision="fp16")
