"""``export_model``: stem-derived names, reuse only on matching source and settings, layouts."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import onnx
import pytest
from click.testing import CliRunner

from mmnet_edge.artifacts import read_metadata
from mmnet_edge.artifacts.metadata_io import file_sha256
from mmnet_edge.artifacts.onnx_props import write_onnx_metadata
from mmnet_edge.calibration.sources import from_synthetic
from mmnet_edge.cli import cli
from mmnet_edge.export import ExportSettings, export_model


@pytest.fixture(scope="module")
def fp32(tiny_checkpoint, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pipeline")
    res = export_model(tiny_checkpoint, out, ExportSettings(validate=False))
    target = out / "mmnet.onnx"
    res.onnx.rename(target)
    return target


def _statuses(res) -> dict[str, str]:  # noqa: ANN001
    return {s.name: s.status for s in res.steps}


def test_int8_names_follow_the_stem_and_are_reused_only_when_settings_match(fp32):
    calib = from_synthetic(112, subjects=2, per_class=4, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = export_model(fp32, None, ExportSettings(precision="int8", calib=calib))
    assert {p.name for p in first.written} == {
        "mmnet.int8.onnx",
        "mmnet.int8-cpu.onnx",
        "mmnet.int8-openvino.onnx",
    }
    assert read_metadata(fp32.with_name("mmnet.int8-cpu.onnx")).extra["int8_layout"] == "default"
    again = export_model(fp32, None, ExportSettings(precision="int8", calib=calib))
    assert set(_statuses(again).values()) == {"reused"} and len(_statuses(again)) == 4
    # a CPU file from an earlier default layout (0.2: the whole stride-4 stage float) is rebuilt
    old = fp32.with_name("mmnet.int8-cpu.onnx")
    meta = read_metadata(old)
    meta.extra = {k: v for k, v in meta.extra.items() if k != "int8_layout_revision"}
    write_onnx_metadata(old, meta)
    upgraded = export_model(fp32, None, ExportSettings(precision="int8", calib=calib))
    assert _statuses(upgraded) == {
        "onnx": "reused",
        "int8-tensorrt": "reused",
        "int8-cpu": "written",
        "int8-openvino": "reused",
    }
    assert read_metadata(old).extra["int8_layout_revision"] == "0.4"
    # another calibration method → every INT8 file rebuilt
    other = export_model(
        fp32, None, ExportSettings(precision="int8", calib=calib, calib_method="minmax")
    )
    assert {_statuses(other)[f"int8-{t}"] for t in ("tensorrt", "cpu", "openvino")} == {"written"}
    # the CPU default quantizes the stem: a DequantizeLinear feeds its conv
    graph = onnx.load(str(fp32.with_name("mmnet.int8-cpu.onnx"))).graph
    producers = {o: n.op_type for n in graph.node for o in n.output}
    stem = next(n for n in graph.node if n.op_type == "Conv" and n.name.startswith("/stem/"))
    assert producers.get(stem.input[0]) == "DequantizeLinear"
    assert producers.get(stem.input[1]) == "DequantizeLinear"  # weights int8 too


def test_lint_findings_become_warnings_not_failures(fp32):
    res = export_model(fp32, None, ExportSettings(precision="fp32"))
    assert res.warnings == []  # the FP32 graph passes both TensorRT parser tables
    assert res.exit_code == 0


def test_export_knows_every_int8_target_the_quantizer_has():
    from mmnet_edge.calibration.int8_layout import TARGETS
    from mmnet_edge.export.pipeline import INT8_TARGETS

    assert INT8_TARGETS == TARGETS == ExportSettings().int8_targets


def _export_cli(*args: str):  # noqa: ANN202
    return CliRunner().invoke(cli, ["export", *args], env={"COLUMNS": "200"})


def test_two_precision_flags_build_both_from_one_fp32_file(tiny_checkpoint, tmp_path):
    """`--fp32 --fp16` (engines, the default format) used to build only the last flag given:
    now each precision gets its engine step, from the one FP32 file written once. Without
    TensorRT both engine steps are skipped with the reason (exit 3), as for one flag."""
    res = _export_cli(
        str(tiny_checkpoint), "--fp16", "--fp32", "--no-validate", "-o", str(tmp_path)
    )
    assert res.exit_code in (0, 3), res.output
    assert "engine (fp32)" in res.output and "engine (fp16)" in res.output
    fp16 = tmp_path / "model.fp16.onnx"
    assert read_metadata(fp16).extra["source_onnx_sha256"] == file_sha256(tmp_path / "model.onnx")
    assert res.output.count("│ onnx ") == 1  # the FP32 file is exported once, not per flag
    if res.exit_code == 0:  # TensorRT here: both engines exist
        assert {p.name for p in tmp_path.glob("*.engine")} == {
            "model.fp32.engine",
            "model.fp16.engine",
        }


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--int8", "--fp16", "--format", "triton"], "writes one model repository"),
        (["--fp32", "--fp16", "--dla-core", "0"], "DLA runs FP16 or INT8 only.*with --fp32"),
    ],
)
def test_precision_combinations_that_cannot_all_be_built_are_refused_before_any_work(
    tiny_checkpoint, tmp_path, flags, match
):
    res = _export_cli(str(tiny_checkpoint), *flags, "-o", str(tmp_path))
    assert res.exit_code == 2
    assert re.search(match, res.output), res.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_int8_and_fp16_flags_write_both_and_the_summary_lists_them(tiny_checkpoint, tmp_path):
    res = _export_cli(
        str(tiny_checkpoint),
        "--int8",
        "--fp16",
        "--format",
        "onnx",
        "--no-validate",
        "--calib-method",
        "minmax",
        "-o",
        str(tmp_path),
    )
    assert res.exit_code == 0, res.output
    names = {p.name for p in tmp_path.glob("*.onnx")}
    assert names == {
        "model.onnx",
        "model.fp16.onnx",
        "model.int8.onnx",
        "model.int8-cpu.onnx",
        "model.int8-openvino.onnx",
    }
    for step in ("fp16", "int8-tensorrt", "int8-cpu", "int8-openvino"):
        assert f"│ {step} " in res.output
    source = file_sha256(tmp_path / "model.onnx")
    for name in names - {"model.onnx"}:
        assert read_metadata(tmp_path / name).extra["source_onnx_sha256"] == source


def test_triton_format_goes_through_export_model(fp32, tmp_path):
    """``fmt="triton"``: the ONNX file of the asked precision, served as is, from the API."""
    out = tmp_path / "fp16"
    settings = ExportSettings(fmt="triton", precision="fp16", triton_max_batch=4)
    res = export_model(fp32, out, settings)
    assert _statuses(res) == {"onnx": "reused", "fp16": "written", "triton": "written"}
    repo = res.triton
    assert repo is not None and repo.root == out / "triton"
    assert repo.model_path.read_bytes() == (out / "mmnet.fp16.onnx").read_bytes()
    config = repo.config_path.read_text()
    assert 'platform: "onnxruntime_onnx"' in config and "max_batch_size: 4" in config
    # FP32: the input file itself; the repository goes next to it without --output
    plain = export_model(fp32, None, ExportSettings(fmt="triton"))
    assert plain.triton.model_path.read_bytes() == fp32.read_bytes()
    assert plain.triton.root == fp32.parent / "triton"


def test_triton_repository_of_an_engine_needs_no_export(tmp_path):
    from mmnet_edge.artifacts.manifests import EngineManifest
    from mmnet_edge.errors import InputError
    from mmnet_edge.metadata import ModelMetadata
    from mmnet_edge.model import create_config

    engine = tmp_path / "m.fp16.engine"
    engine.write_bytes(b"plan bytes; only the repository is written here")
    meta = ModelMetadata(config=create_config("tiny", 3), class_names=("a", "b", "c"))
    EngineManifest("10.3.0", "fp16", meta.to_dict(), profile={"min": 1, "opt": 2, "max": 4}).write(
        engine
    )
    res = export_model(engine, None, ExportSettings(fmt="triton"))
    assert [s.name for s in res.steps] == ["engine", "triton"] and res.engine_skipped is None
    assert res.triton.platform == "tensorrt_plan" and res.triton.max_batch == 4
    assert res.triton.model_path.read_bytes() == engine.read_bytes()
    with pytest.raises(InputError, match="already an engine"):
        export_model(engine, None, ExportSettings(fmt="onnx"))
