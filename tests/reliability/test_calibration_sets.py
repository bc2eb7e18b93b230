"""Calibration sets and manifests that cannot calibrate → CalibrationError, never a raw
ONNX Runtime failure or a silently broken INT8 model."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mmnet_edge.calibration.dataset import (
    check_compatible,
    load_calibration_set,
    save_calibration_set,
    tensor_hash,
)
from mmnet_edge.calibration.quantize import quantize_int8
from mmnet_edge.calibration.sources import from_synthetic
from mmnet_edge.cli import cli
from mmnet_edge.errors import CalibrationError, OutputError
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.model import create_config


@pytest.fixture(scope="module")
def good_set(tmp_path_factory) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = from_synthetic(112, subjects=1, per_class=2)
    return save_calibration_set(cs, tmp_path_factory.mktemp("calib") / "good.npz")


Arrays = dict[str, np.ndarray]


def write_set(path: Path, arrays: Arrays, manifest: dict) -> Path:
    np.savez(path, **arrays)
    path.with_suffix(".json").write_text(json.dumps(manifest))
    return path


def mutated(
    good: Path,
    dst: Path,
    arrays: Callable[[Arrays], Arrays] | None = None,
    manifest: Callable[[dict], object] | None = None,
    rehash: bool = True,
) -> Path:
    with np.load(good) as z:
        a = {k: z[k] for k in z.files}
    m = json.loads(good.with_suffix(".json").read_text())
    if arrays is not None:
        a = arrays(a)
        if rehash and {"onset", "apex", "labels"} <= set(a):
            m["sha256"] = tensor_hash(a["onset"], a["apex"], a["labels"])
            m["count"] = int(len(a["onset"]))
    if manifest is not None:
        m = manifest(m)
    return write_set(dst, a, m)  # type: ignore[arg-type]


def set_(key: str, fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Arrays], Arrays]:
    return lambda a: {**a, key: fn(a[key])}


def both(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Arrays], Arrays]:
    return lambda a: {**a, "onset": fn(a["onset"]), "apex": fn(a["apex"])}


def nan_at(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[0, 0, 0, 0] = np.nan
    return x


def inf_at(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[-1, 2, 5, 5] = np.inf
    return x


def man(**kv: object) -> Callable[[dict], dict]:
    return lambda m: {**m, **kv}


def pre(**kv: object) -> Callable[[dict], dict]:
    return lambda m: {**m, "preprocessing": {**m["preprocessing"], **kv}}


# (case, arrays change, manifest change, phrase in the message)
CASES = [
    ("float64", both(lambda x: x.astype(np.float64)), None, "expected float32"),
    ("uint8 pixels", both(lambda x: np.zeros(x.shape, np.uint8)), None, "expected float32"),
    ("rank 3", both(lambda x: x[:, 0]), None, "expected N×3×S×S"),
    ("one channel", both(lambda x: x[:, :1]), None, "expected N×3×S×S"),
    ("not square", both(lambda x: x[:, :, :100]), None, "expected N×3×S×S"),
    ("onset/apex differ", set_("apex", lambda x: x[:-1]), None, "differ"),
    ("empty", lambda a: {k: v[:0] for k, v in a.items()}, None, "empty"),
    ("labels count", set_("labels", lambda x: x[:-1]), None, "labels for"),
    ("labels float", set_("labels", lambda x: x.astype(np.float32)), None, "integers"),
    ("label too large", set_("labels", lambda x: x + 50), None, "class names"),
    ("label below -1", set_("labels", lambda x: x - 50), None, "< −1"),
    ("NaN", set_("onset", nan_at), None, "NaN/Inf"),
    ("Inf", set_("apex", inf_at), None, "NaN/Inf"),
    ("raw 0..255 pixels", both(lambda x: (x * 60 + 120).astype(np.float32)), None, "outside"),
    ("constant", both(lambda x: np.zeros_like(x)), None, "identical"),
    ("array missing", lambda a: {"onset": a["onset"], "apex": a["apex"]}, None, "lacks"),
    ("hash differs", set_("onset", lambda x: x * 0.5), None, "hash"),
    ("manifest list", None, lambda m: [m], "not a JSON object"),
    ("manifest format", None, man(format="something-else/1"), "format"),
    ("manifest no sha", None, lambda m: {k: v for k, v in m.items() if k != "sha256"}, "hash"),
    ("manifest count", None, man(count=999), "count 999"),
    ("manifest count text", None, man(count="20"), "count"),
    ("class names text", None, man(class_names="abc"), "class_names"),
    ("preprocessing list", None, man(preprocessing=[1]), "preprocessing must be an object"),
    ("mean text", None, pre(mean="0.5"), "preprocessing.mean"),
    ("std zero", None, pre(std=[0.2, 0.0, 0.2]), "std must be positive"),
    ("size mismatch", None, pre(input_size=224), "input_size 224"),
]


@pytest.mark.parametrize(("case", "arrays", "manifest", "phrase"), CASES, ids=[c[0] for c in CASES])
def test_bad_calibration_sets_are_refused(good_set, tmp_path, case, arrays, manifest, phrase):
    rehash = case != "hash differs"
    path = mutated(good_set, tmp_path / "bad.npz", arrays, manifest, rehash)
    if case == "manifest no sha":
        phrase = "sha256|hash"
    with pytest.raises(CalibrationError, match=phrase):
        load_calibration_set(path)


@pytest.mark.parametrize(
    ("case", "damage"),
    [
        ("truncated npz", lambda p: p.write_bytes(p.read_bytes()[:200])),
        ("not a zip", lambda p: p.write_bytes(b"hello")),
        ("manifest truncated", lambda p: p.with_suffix(".json").write_text('{"format": "mm')),
        ("manifest binary", lambda p: p.with_suffix(".json").write_bytes(b"\xff\xfe\x00")),
        ("manifest missing", lambda p: p.with_suffix(".json").unlink()),
        ("set missing", lambda p: p.unlink()),
    ],
)
def test_damaged_files_are_refused(good_set, tmp_path, case, damage):
    path = mutated(good_set, tmp_path / "d.npz")
    damage(path)
    with pytest.raises(CalibrationError):
        load_calibration_set(path)


def test_a_set_for_another_model_is_refused(good_set):
    cs = load_calibration_set(good_set)
    check_compatible(cs, ModelMetadata(config=create_config("tiny")))
    with pytest.raises(CalibrationError, match="rebuild it with --size 224"):
        check_compatible(cs, ModelMetadata(config=create_config("paper")))
    with pytest.raises(CalibrationError, match="mean/std"):
        check_compatible(cs, ModelMetadata(config=create_config("tiny"), mean=(0.5, 0.5, 0.5)))


def test_quantizer_refuses_bad_sets_before_onnx_runtime(good_set, tiny_onnx, tmp_path):
    bad = mutated(good_set, tmp_path / "raw.npz", both(lambda x: x * 60 + 120))
    with pytest.raises(CalibrationError, match="outside"):
        quantize_int8(tiny_onnx, bad, tmp_path / "out", targets=("cpu",))
    assert not list((tmp_path / "out").glob("*.onnx"))


def test_build_to_an_unwritable_place_is_an_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    res = CliRunner().invoke(
        cli, ["calibrate", "build", "synthetic", "-o", str(blocker / "c.npz"), "--per-class", "1"]
    )
    assert res.exit_code != 0
    assert isinstance(res.exception, OutputError), res.output
    assert str(blocker / "c.npz") in str(res.exception)
    assert not list(tmp_path.glob("**/*.tmp-*"))
