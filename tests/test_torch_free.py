"""The deployable runtime works with torch (and onnx) made unimportable, as on a kiosk or a
Jetson without a training framework; a command that needs torch names the ``[train]`` extra.

Each check runs in a fresh interpreter whose import system refuses ``torch`` and ``onnx``
(a meta-path finder that raises ImportError), so an accidental top-level import anywhere
on these paths fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmnet_edge.export import ExportSettings, export_model

BLOCKER = textwrap.dedent(
    """
    import sys
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "onnx", "onnxscript", "onnxslim"):
                raise ImportError(f"{name} is blocked: the runtime must not need it")
            return None
    sys.meta_path.insert(0, _Block())
    """
)


def run_blocked(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=240,
    )


def cli(*args: str) -> str:
    """Python source running ``mmnet-edge ARGS`` in the blocked interpreter."""
    return f"from mmnet_edge.cli import main\nsys.argv = ['mmnet-edge', *{list(args)!r}]\nmain()\n"


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory) -> Path:
    """FP32 + INT8 (both targets) ONNX of the tiny model, named ``mmnet.*.onnx``."""
    out = tmp_path_factory.mktemp("torchfree")
    res = export_model(tiny_checkpoint, out, ExportSettings(precision="fp32", validate=False))
    fp32 = out / "mmnet.onnx"
    res.onnx.rename(fp32)
    with pytest.warns(UserWarning, match="SYNTHETIC"):
        export_model(fp32, None, ExportSettings(precision="int8", validate=False))
    return fp32


@pytest.fixture(scope="module")
def media(exported, tmp_path_factory) -> dict[str, Path]:
    """A face photo pair and a short video of it (for predict_clip) on disk."""
    from skimage import data as skimage_data

    d = tmp_path_factory.mktemp("media")
    onset = skimage_data.astronaut()[:, :, ::-1].copy()
    apex = onset.copy()
    apex[300:320, 230:280] = onset[302:322, 230:280]
    cv2.imwrite(str(d / "onset.png"), onset)
    cv2.imwrite(str(d / "apex.png"), apex)
    # the face region at full resolution (YuNet's minimum face size stays met)
    small = [np.ascontiguousarray(f[0:288, 80:368]) for f in (onset, onset, apex, apex, onset)]
    w = cv2.VideoWriter(str(d / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (288, 288))
    for f in small:
        w.write(f)
    w.release()
    return {"onset": d / "onset.png", "apex": d / "apex.png", "clip": d / "clip.avi"}


def test_runtime_on_onnx_needs_no_torch(exported, media, detector_model_path, tmp_path):
    code = f"""
    import json
    import mmnet_edge
    from mmnet_edge import Runtime
    out = {{}}
    for precision in ("fp32", "int8"):
        with Runtime({str(exported)!r}, backend="onnxruntime", precision=precision,
                     detector={str(detector_model_path)!r}) as rt:
            p = rt.predict({str(media["onset"])!r}, {str(media["apex"])!r})
            c = rt.predict_clip({str(media["clip"])!r})
            out[precision] = {{"model": str(rt.runner.path), "label": p.label,
                              "clip_apex": c.apex_index, "box": list(p.face_box)}}
    assert "torch" not in sys.modules and "onnx" not in sys.modules
    print(json.dumps(out))
    """
    r = run_blocked(code, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["fp32"]["model"].endswith("mmnet.onnx")
    # FP32 named mmnet.onnx finds its CPU-target INT8 sibling, not model.int8-cpu.onnx
    assert out["int8"]["model"].endswith("mmnet.int8-cpu.onnx")
    for p in out.values():
        assert p["label"] in ("happiness", "disgust", "repression", "surprise", "others")
        x, y, w, h = p["box"]
        assert 150 < x + w / 2 < 300 and 50 < y + h / 2 < 220  # the astronaut's face
        assert 0 <= p["clip_apex"] < 5


@pytest.mark.parametrize(
    "args, expect",
    [
        (("info", "{onnx}", "--json"), '"format": "onnx"'),
        (("info", "{int8}", "--json"), '"format": "onnx-int8-cpu"'),
        (("doctor", "--json"), "mmnet-edge[train]"),
        (("bench", "{onnx}", "--iters", "3", "--warmup", "1", "--batch", "1"), "onnxruntime"),
    ],
)
def test_runtime_commands_need_no_torch(exported, args, expect, tmp_path):
    names = {"onnx": str(exported), "int8": str(exported.with_name("mmnet.int8-cpu.onnx"))}
    r = run_blocked(cli(*(a.format(**names) for a in args)), tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert expect in r.stdout + r.stderr


@pytest.mark.parametrize("command", ["export", "train"])
def test_torch_commands_name_the_train_extra(exported, tiny_checkpoint, command, tmp_path):
    args = {
        "export": ("export", str(tiny_checkpoint), "--format", "onnx", "-o", str(tmp_path)),
        "train": ("train", "--dataset", "synthetic", "--output", str(tmp_path / "run")),
    }[command]
    r = run_blocked(cli(*args), tmp_path)
    assert r.returncode != 0
    assert "mmnet-edge[train]" in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr


def test_checkpoint_on_torch_backend_names_the_extra(tiny_checkpoint, tmp_path):
    code = f"""
    from mmnet_edge import Runtime
    from mmnet_edge.errors import BackendUnavailableError
    try:
        Runtime({str(tiny_checkpoint)!r}, align=False)
    except BackendUnavailableError as exc:
        print("typed:", exc)
    """
    r = run_blocked(code, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "typed:" in r.stdout and "mmnet-edge[train]" in r.stdout


def test_metadata_of_every_artefact_reads_without_torch(exported, tiny_checkpoint, tmp_path):
    code = f"""
    from mmnet_edge.artifacts import read_metadata
    for p in ({str(tiny_checkpoint)!r}, {str(exported)!r},
              {str(exported.with_name("mmnet.int8.onnx"))!r}):
        m = read_metadata(p)
        print(m.precision, m.input_size, len(m.class_names))
    """
    r = run_blocked(code, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["fp32", "112", "5", "fp32", "112", "5", "int8", "112", "5"]


def test_blocker_really_blocks(tmp_path):
    r = run_blocked("import torch\n", tmp_path)
    assert r.returncode != 0 and "blocked" in r.stderr
    assert np.__name__  # numpy stays importable for the runtime


@pytest.mark.parametrize(
    ("code", "expect"),
    [
        (  # model configs and the preset registry load eagerly; the network on first use
            "from mmnet_edge.model import create_config, list_models\n"
            "assert create_config('tiny').input_size == 112, list_models()\n"
            "try:\n"
            "    from mmnet_edge.model import MMNet\n"
            "except ImportError:\n"
            "    print('lazy')\n",
            "lazy",
        ),
        (  # the train CLI lists presets and recipes without the [train] extra
            "from mmnet_edge.train import TrainConfig, list_recipes\n"
            "from mmnet_edge.cli.train import train\n"
            "print(TrainConfig(model='tiny').recipe().epochs, 'tiny' in list_recipes())\n",
            "16 True",
        ),
        (  # held-out synthetic pairs come from synth/ alone, without the dataset layer
            "from mmnet_edge.synth import heldout_pairs\n"
            "assert len(heldout_pairs(1, 32)) == 1\n"
            "print(sorted(m for m in sys.modules if m.startswith('mmnet_edge.data')))\n",
            "[]",
        ),
    ],
    ids=["model-registry", "train-registries", "synth"],
)
def test_torch_free_layers(code, expect, tmp_path):
    out = run_blocked(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expect
