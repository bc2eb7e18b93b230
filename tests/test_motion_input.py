"""The motion image's pixel-step quantization: small frame differences map to exactly their
own number of int8 steps, and the CPU target's int8 stem gets that step."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from mmnet_edge.calibration.dataset import SmallCalibrationSetWarning
from mmnet_edge.calibration.int8_layout import BLOCK0_ISLAND, DEFAULT_KEEP_FLOAT
from mmnet_edge.calibration.motion_input import exact_levels, motion_tensor, pixel_step
from mmnet_edge.calibration.quantize import quantize_target
from mmnet_edge.calibration.sources import from_synthetic
from mmnet_edge.errors import CalibrationError
from mmnet_edge.export.onnx import export_onnx
from mmnet_edge.metadata import IMAGENET_MEAN, IMAGENET_STD
from mmnet_edge.preprocess import to_tensor


def _quantize(x: np.ndarray, scale: float, zero: int) -> np.ndarray:
    """ONNX QuantizeLinear to uint8 (round half to even, saturate)."""
    return np.clip(np.rint(x / np.float32(scale)) + zero, 0, 255).astype(np.int64)


def test_pixel_step_keeps_small_frame_differences_exact():
    """Real frames through the real preprocessing: every difference of up to
    ``exact_levels`` pixel levels lands on exactly that many steps in every channel."""
    scale = pixel_step(IMAGENET_STD)
    exact = exact_levels(IMAGENET_STD, scale)
    assert 40 <= exact <= 127
    rng = np.random.default_rng(0)
    onset = rng.integers(0, 256, (1, 32, 32, 3)).astype(np.uint8)
    k = rng.integers(-exact, exact + 1, onset.shape)
    apex = np.clip(onset.astype(np.int64) + k, 0, 255).astype(np.uint8)
    k = apex.astype(np.int64) - onset  # what survived the clip to [0, 255]
    args = (IMAGENET_MEAN, IMAGENET_STD)
    motion = to_tensor(apex[0], 32, *args) - to_tensor(onset[0], 32, *args)  # 1×3×H×W
    q = _quantize(motion, scale, 128) - 128
    np.testing.assert_array_equal(q, k.transpose(0, 3, 1, 2))
    # one level more and some channel is off by one: the bound is tight
    big = np.array([(exact + 1) / (255.0 * s) for s in IMAGENET_STD], np.float32)
    assert (_quantize(big, scale, 128) - 128 != exact + 1).any()


def test_a_calibrated_range_does_not():
    """Why it exists: a min/max step over ±2.5 merges neighbouring small differences."""
    step = 5.0 / 255.0
    levels = np.arange(1, 8) / (255.0 * IMAGENET_STD[0])
    q = _quantize(levels.astype(np.float32), step, 128) - 128
    assert len(set(q.tolist())) < len(levels)


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("motion")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallCalibrationSetWarning)
        calib = from_synthetic(112, 2, 2, 0)
    return export_onnx(tiny_checkpoint, out / "model.onnx").path, calib, out


def _motion_q(path) -> tuple[float, int]:
    model = onnx.load(str(path))
    tensor = motion_tensor(model)
    q = next(n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == tensor)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return float(inits[q.input[1]]), int(inits[q.input[2]])


def test_int8_stem_gets_the_pixel_step_and_records_it(exported):
    from mmnet_edge.artifacts.metadata_io import read_onnx_metadata

    fp32, calib, out = exported
    stem_int8 = DEFAULT_KEEP_FLOAT + BLOCK0_ISLAND
    with contextlib.redirect_stdout(io.StringIO()):
        pixel = quantize_target(fp32, calib, out / "p.onnx", "cpu", keep_float=stem_int8)
        cal = quantize_target(
            fp32, calib, out / "c.onnx", "cpu", keep_float=stem_int8, motion_step="calibrated"
        )
    scale, zero = _motion_q(pixel.path)
    assert scale == pytest.approx(pixel_step(IMAGENET_STD), rel=1e-6) and zero == 128
    record = read_onnx_metadata(pixel.path).extra["motion_input_quant"]
    assert record["scale"] == pytest.approx(scale) and record["exact_up_to_levels"] >= 40
    assert _motion_q(cal.path)[0] != pytest.approx(scale, rel=1e-3)
    assert read_onnx_metadata(cal.path).extra["motion_input_quant"] == "calibrated"
    with pytest.raises(CalibrationError, match="motion_step"):
        quantize_target(fp32, calib, out / "x.onnx", "cpu", motion_step="fine")


def test_a_float_stem_leaves_the_motion_image_unquantized(exported):
    from mmnet_edge.artifacts.metadata_io import read_onnx_metadata

    fp32, calib, out = exported
    with contextlib.redirect_stdout(io.StringIO()):
        r = quantize_target(fp32, calib, out / "t.onnx", "tensorrt")  # stem float there
    model = onnx.load(str(r.path))
    tensor = motion_tensor(model)
    assert not any(n.op_type == "QuantizeLinear" and tensor in n.input for n in model.graph.node)
    assert read_onnx_metadata(r.path).extra["motion_input_quant"] == "calibrated"
