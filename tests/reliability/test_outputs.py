"""Corrupt weights never become a label: NaN/Inf tensors and non-finite logits are errors."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from mmnet_edge import Runtime
from mmnet_edge.checkpoint import load_checkpoint
from mmnet_edge.errors import CheckpointError, NonFiniteOutputError


def flip_tensor(src: Path, dst: Path, name: str, pattern: bytes) -> None:
    """Copy a safetensors file, overwriting the first bytes of tensor ``name``'s data."""
    raw = bytearray(src.read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    start, end = header[name]["data_offsets"]
    at = 8 + n + start
    raw[at : at + len(pattern)] = pattern
    assert at + len(pattern) <= 8 + n + end
    dst.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    ("case", "pattern"),
    [("nan", b"\xff\xff\xff\xff"), ("+inf", b"\x00\x00\x80\x7f"), ("-inf", b"\x00\x00\x80\xff")],
)
def test_bit_flipped_checkpoint_is_refused(tiny_checkpoint, tmp_path, case, pattern):
    bad = tmp_path / f"{case}.safetensors"
    flip_tensor(tiny_checkpoint, bad, "head.weight", pattern)
    with pytest.raises(CheckpointError, match="head.weight holds NaN/Inf"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="NaN/Inf"):
        Runtime(bad, backend="torch", align=False)


def nan_onnx(src: Path, dst: Path) -> Path:
    model = onnx.load(str(src))
    for init in model.graph.initializer:
        if "head" in init.name and "bias" in init.name:
            arr = numpy_helper.to_array(init).copy()
            arr[:] = np.nan
            init.CopyFrom(numpy_helper.from_array(arr, init.name))
            break
    else:  # pragma: no cover - export names changed
        pytest.fail("no head bias initializer in the exported graph")
    onnx.save(model, str(dst))
    return dst


def test_non_finite_logits_never_become_a_label(tiny_onnx, tmp_path):
    bad = nan_onnx(tiny_onnx, tmp_path / "model.onnx")
    rng = np.random.default_rng(0)
    on = rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)
    with Runtime(bad, backend="onnxruntime", align=False) as rt:
        with pytest.raises(NonFiniteOutputError, match="non-finite logits"):
            rt.predict(on, on)
        with pytest.raises(NonFiniteOutputError):
            rt.predict_batch([(on, on), (on, on)])
        with pytest.raises(NonFiniteOutputError):
            rt.predict_clip([on, on, on])


def test_a_nan_input_tensor_is_an_input_error_not_corrupt_weights(tiny_onnx):
    """A NaN in the caller's tensor used to surface as non-finite logits ("the weights may be
    corrupt"): the input is named instead, before the backend runs."""
    from mmnet_edge.errors import InputError
    from mmnet_edge.runtime.loader import open_runner

    rng = np.random.default_rng(0)
    on = rng.standard_normal((2, 3, 112, 112)).astype(np.float32)
    ap = on.copy()
    ap[1, 0, 5, 5] = np.nan
    with open_runner(tiny_onnx, backend="onnxruntime") as r:
        with pytest.raises(InputError, match=r"apex tensor contains NaN/Inf \(pair\(s\) \[1\]\)"):
            r.run(on, ap)
        on[0, 2, 0, 0] = np.inf
        with pytest.raises(InputError, match="onset tensor contains NaN/Inf"):
            r.run(on, on)
        assert np.isfinite(r.run(ap[:1], ap[:1])).all()  # the good pair still runs
