"""INT8 calibration: sets + manifests, Q/DQ targets, accuracy report, gate, legacy path."""

from __future__ import annotations

import importlib.util
import json
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from click.testing import CliRunner
from onnx import numpy_helper

from mmnet_edge.calibration.dataset import (
    MIN_SIZE,
    SmallCalibrationSetWarning,
    from_synthetic,
    load_calibration_set,
    save_calibration_set,
)
from mmnet_edge.calibration.quantize import quantize_int8, zero_points
from mmnet_edge.calibration.report import accuracy_report, gate
from mmnet_edge.cli import cli
from mmnet_edge.errors import BackendUnavailableError, CalibrationError
from mmnet_edge.export.onnx import export_onnx, read_onnx_metadata, unsupported_by_tensorrt

from .conftest import make_tiny_model


def small_set(seed: int = 0, subjects: int = 2, per_class: int = 2):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCalibrationSetWarning)
        return from_synthetic(112, subjects, per_class, seed)


@pytest.fixture(scope="module")
def quantized(tiny_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("q")
    onnx_path = export_onnx(tiny_checkpoint, out / "model.onnx").path
    calib = small_set()
    res = quantize_int8(onnx_path, calib, out, method="minmax")
    return onnx_path, {r.target: r for r in res}


def test_manifest_and_hash_are_stable(tmp_path):
    a, b = small_set(0), small_set(0)
    assert a.sha256() == b.sha256()
    assert small_set(1).sha256() != a.sha256()
    path = save_calibration_set(a, tmp_path / "calib.npz")
    man = json.loads((tmp_path / "calib.json").read_text())
    assert man["count"] == 20 and man["sha256"] == a.sha256()
    assert sum(man["class_histogram"].values()) == 20 and len(man["class_histogram"]) == 5
    assert man["preprocessing"]["input_size"] == 112
    back = load_calibration_set(path)
    assert np.array_equal(back.onset, a.onset) and back.class_names == a.class_names
    man["sha256"] = "0" * 64
    (tmp_path / "calib.json").write_text(json.dumps(man))
    with pytest.raises(CalibrationError, match="hash"):
        load_calibration_set(path)


def test_too_few_samples_warns():
    with pytest.warns(SmallCalibrationSetWarning, match=str(MIN_SIZE)):
        from_synthetic(112, 1, 1, 0)


def test_tensorrt_target_is_symmetric_with_per_channel_weights(quantized):
    _, res = quantized
    model = onnx.load(str(res["tensorrt"].path))
    zps = zero_points(res["tensorrt"].path)
    assert zps and all((v == 0).all() for v in zps.values())
    assert {v.dtype for v in zps.values()} <= {np.dtype("int8"), np.dtype("int32")}
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    per_channel = 0
    for n in model.graph.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in inits and inits[n.input[0]].ndim == 4:
            scale = inits[n.input[1]]
            assert scale.ndim == 1 and scale.shape[0] == inits[n.input[0]].shape[0]
            per_channel += 1
    assert per_channel >= 10  # every quantized conv weight
    assert read_onnx_metadata(res["tensorrt"].path).precision == "int8"
    assert unsupported_by_tensorrt(res["tensorrt"].path) == []  # Q/DQ ops TensorRT parses
    # the sensitive 2→1-channel attention convolutions stay in float by default
    assert any("/attention/" in n for n in res["tensorrt"].kept_float)


def test_cpu_target_uses_uint8_activations(quantized):
    _, res = quantized
    zps = zero_points(res["cpu"].path)
    assert np.dtype("uint8") in {v.dtype for v in zps.values()}
    assert res["cpu"].path.name == "model.int8-cpu.onnx"


def test_int8_models_track_fp32(quantized):
    onnx_path, res = quantized
    held = small_set(7)
    ref = ort.InferenceSession(str(onnx_path)).run(None, {"onset": held.onset, "apex": held.apex})[
        0
    ]
    for r in res.values():
        got = ort.InferenceSession(str(r.path)).run(None, {"onset": held.onset, "apex": held.apex})[
            0
        ]
        assert np.abs(got - ref).max() < 0.5 * np.abs(ref).max() + 1e-3


def test_report_numbers_recomputed_from_raw_outputs(quantized, tmp_path):
    onnx_path, res = quantized
    held = small_set(11)
    rep = accuracy_report(
        onnx_path,
        {"int8-cpu": res["cpu"].path, "missing": tmp_path / "no.onnx"},
        held,
        sensitivity=False,
    )
    ref = ort.InferenceSession(str(onnx_path)).run(None, {"onset": held.onset, "apex": held.apex})[
        0
    ]
    got = ort.InferenceSession(str(res["cpu"].path)).run(
        None, {"onset": held.onset, "apex": held.apex}
    )[0]
    v = rep["variants"]["int8-cpu"]
    assert v["top1_agreement"] == pytest.approx((ref.argmax(1) == got.argmax(1)).mean())
    acc = (got.argmax(1) == held.labels).mean()
    assert v["accuracy"] == pytest.approx(acc)
    assert v["accuracy_delta"] == pytest.approx(acc - (ref.argmax(1) == held.labels).mean())

    def sm(x):
        e = np.exp(x - x.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    assert v["max_prob_error"] == pytest.approx(np.abs(sm(ref) - sm(got)).max(), abs=1e-5)
    assert v["mean_prob_error"] == pytest.approx(np.abs(sm(ref) - sm(got)).max(1).mean(), abs=1e-5)

    def f1s(pred):  # per-class F1 by hand (0 for a class never predicted nor present)
        out = []
        for c in range(len(held.class_names)):
            tp = np.sum((pred == c) & (held.labels == c))
            fp = np.sum((pred == c) & (held.labels != c))
            fn = np.sum((pred != c) & (held.labels == c))
            out.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
        return np.array(out)

    assert v["uf1"] == pytest.approx(f1s(got.argmax(1)).mean())
    assert v["uf1_delta"] == pytest.approx(f1s(got.argmax(1)).mean() - f1s(ref.argmax(1)).mean())
    deltas = f1s(got.argmax(1)) - f1s(ref.argmax(1))
    for name, d in zip(held.class_names, deltas, strict=True):
        assert v["per_class_f1_delta"][name] == pytest.approx(d)
    assert rep["variants"]["missing"]["status"] == "missing"
    assert rep["fp32"]["top1_agreement"] == 1.0


def test_max_uf1_drop_gate(tiny_checkpoint, tmp_path):
    onnx_path = export_onnx(tiny_checkpoint, tmp_path / "model.onnx").path
    # a different network posing as the INT8 model: its UF1 differs from FP32's
    other = make_tiny_model(seed=123)
    from mmnet_edge.checkpoint import save_checkpoint
    from mmnet_edge.metadata import ModelMetadata

    ck = save_checkpoint(other, ModelMetadata(config=other.config), tmp_path / "o.safetensors")
    bad = export_onnx(ck, tmp_path / "other" / "model.onnx").path
    held = small_set(3, subjects=2, per_class=4)
    save_calibration_set(held, tmp_path / "held.npz")
    rep = accuracy_report(onnx_path, {"int8": bad}, held, sensitivity=False)
    drop = -rep["variants"]["int8"]["uf1_delta"]
    gate(rep, "int8", max_uf1_drop=max(drop, 0) + 1e-9)  # passes at the measured drop
    if drop > 0:
        with pytest.raises(CalibrationError, match="UF1"):
            gate(rep, "int8", max_uf1_drop=drop / 2)
    res = CliRunner().invoke(
        cli,
        [
            "calibrate",
            "report",
            "--fp32",
            str(onnx_path),
            "--int8",
            str(bad),
            "--data",
            str(tmp_path / "held.npz"),
            "--no-sensitivity",
            "--max-uf1-drop",
            "-1",
        ],
    )
    assert res.exit_code != 0 and isinstance(res.exception, CalibrationError)
    ok = CliRunner().invoke(
        cli,
        [
            "calibrate",
            "report",
            "--fp32",
            str(onnx_path),
            "--int8",
            str(bad),
            "--data",
            str(tmp_path / "held.npz"),
            "--no-sensitivity",
            "--max-uf1-drop",
            "1.5",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "top-1 agreement" in ok.output


def test_gate_fails_exactly_above_the_bar():
    rep = {"variants": {"int8": {"uf1_delta": -0.05}, "fp16": {"top1_agreement": 1.0}}}
    gate(rep, "int8", max_uf1_drop=0.06)
    with pytest.raises(CalibrationError, match="0.050 UF1"):
        gate(rep, "int8", max_uf1_drop=0.03)
    with pytest.raises(CalibrationError, match="labels"):
        gate(rep, "fp16", max_uf1_drop=0.03)


def test_sensitivity_lists_every_block_group(quantized):
    onnx_path, _ = quantized
    held = small_set(5, subjects=1, per_class=2)
    rep = accuracy_report(onnx_path, {}, held, sensitivity=True)
    groups = [r["group"] for r in rep["sensitivity"]]
    assert groups[:3] == ["stem", "conv1", "blocks.0"] and "pc" in groups and "head" in groups
    assert all(0 <= r["top1_agreement"] <= 1 for r in rep["sensitivity"])


def test_build_cli_and_export_int8_cli(tiny_checkpoint, tmp_path):
    res = CliRunner().invoke(
        cli,
        [
            "calibrate",
            "build",
            "synthetic",
            "--output",
            str(tmp_path / "c.npz"),
            "--model",
            str(tiny_checkpoint),
            "--subjects",
            "2",
            "--per-class",
            "2",
        ],
    )
    assert res.exit_code == 0, res.output
    assert load_calibration_set(tmp_path / "c.npz").input_size == 112
    res = CliRunner().invoke(
        cli,
        [
            "export",
            str(tiny_checkpoint),
            "--format",
            "onnx",
            "--int8",
            "--calib",
            str(tmp_path / "c.npz"),
            "--calib-method",
            "minmax",
            "--output",
            str(tmp_path / "out"),
        ],
    )
    assert res.exit_code == 0, res.output
    for name in ("model.onnx", "model.int8.onnx", "model.int8-cpu.onnx"):
        assert (tmp_path / "out" / name).is_file()


def test_export_int8_without_calib_warns_loudly(tiny_checkpoint, tmp_path):
    from mmnet_edge.calibration.quantize import SyntheticCalibrationWarning

    onnx_path = export_onnx(tiny_checkpoint, tmp_path / "model.onnx").path
    with pytest.warns(SyntheticCalibrationWarning, match="SYNTHETIC"):
        quantize_int8(onnx_path, None, tmp_path, targets=("cpu",), method="minmax", limit=8)


def test_wrong_input_size_is_refused(quantized):
    onnx_path, _ = quantized
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCalibrationSetWarning)
        wrong = from_synthetic(224, 1, 1, 0)
    with pytest.raises(CalibrationError, match="112"):
        quantize_int8(onnx_path, wrong, onnx_path.parent / "x", targets=("cpu",))


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT present")
def test_legacy_calibrator_needs_tensorrt(tmp_path):
    from mmnet_edge.calibration.legacy import cache_path, make_entropy_calibrator

    with pytest.raises(BackendUnavailableError, match="tensorrt"):
        make_entropy_calibrator(small_set(), "abc", tmp_path)
    a = cache_path(tmp_path, "onnx1", "cal1", "10.3.0")
    assert a != cache_path(tmp_path, "onnx1", "cal1", "10.4.0")
    assert a != cache_path(tmp_path, "onnx2", "cal1", "10.3.0")
    assert a != cache_path(tmp_path, "onnx1", "cal2", "10.3.0")


@pytest.mark.tensorrt
@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is None, reason="TensorRT not installed")
def test_legacy_calibrator_on_real_tensorrt(tmp_path):
    import tensorrt as trt

    from mmnet_edge.calibration.legacy import make_entropy_calibrator

    if not hasattr(trt, "IInt8EntropyCalibrator2"):
        with pytest.raises(CalibrationError, match="removed"):
            make_entropy_calibrator(small_set(), "abc", tmp_path)
        return
    cs = small_set()
    with pytest.warns(DeprecationWarning, match="deprecated"):
        cal = make_entropy_calibrator(cs, "abc", tmp_path)
    assert cal.get_batch_size() == 8
    batches = 0
    while (ptrs := cal.get_batch(["onset", "apex"])) is not None:
        assert len(ptrs) == 2 and all(isinstance(p, int) and p for p in ptrs)
        batches += 1
    assert batches == len(cs) // 8
    assert cal.read_calibration_cache() is None  # nothing cached for this key yet
    cal.write_calibration_cache(b"cache")
    assert cal.read_calibration_cache() == b"cache"
    with pytest.warns(DeprecationWarning):
        other = make_entropy_calibrator(cs, "another-onnx", tmp_path)
    assert other.read_calibration_cache() is None  # another model never reuses it
