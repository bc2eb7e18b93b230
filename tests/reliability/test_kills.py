"""SIGKILL at random points during ONNX export, calibrate build, align and training, then
rerun: nothing half-written or stale at a final name, and the rerun's result is correct."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmnet_edge.calibration.dataset import load_calibration_set
from mmnet_edge.errors import MMNetEdgeError

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
]

JOB = r"""
import sys, warnings
warnings.simplefilter("ignore")
kind, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
if kind in ("export", "train"):
    import torch
    torch.set_num_threads(1)
if kind == "export":
    from mmnet_edge.export.onnx import export_onnx
    export_onnx(src, out + "/model.onnx")
elif kind == "calibrate":
    from mmnet_edge.calibration.sources import build_set
    build_set("synthetic", out + "/calib.npz", input_size=112, subjects=3, per_class=6)
elif kind == "align":
    from mmnet_edge.align.detector import CallerSuppliedDetector
    from mmnet_edge.align.to_disk import align_to_disk
    align_to_disk([src], out, detector=CallerSuppliedDetector(box=(20, 20, 200, 200)), size=160)
elif kind == "train":
    from mmnet_edge.synth import SyntheticConfig
    from mmnet_edge.train import TrainConfig, train
    train(TrainConfig(dataset="synthetic", model="tiny", protocol="loso", epochs=2,
                      batch_size=8, output=out, progress=False, threads=1,
                      synthetic=SyntheticConfig(subjects=3, samples_per_class=2,
                                                image_size=64, seed=0)))
print("done")
"""


def run_job(kind: str, src: Path, out: Path, env: dict, kill_after: float | None) -> float:
    """Run the job in a child; SIGKILL it after ``kill_after`` s. Returns its run time."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", JOB, kind, str(src), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        proc.wait(timeout=kill_after if kill_after is not None else 240)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return time.perf_counter() - t0
    _, err = proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    return time.perf_counter() - t0


def kill_points(duration: float, seed: int, n: int = 1) -> list[float]:
    """Random points in the job's busy part (after the ~imports, before the end)."""
    rng = np.random.default_rng(seed)
    return sorted(float(x) for x in rng.uniform(0.35, 0.95, n) * duration)


@pytest.fixture
def frames(tmp_path) -> Path:
    folder = tmp_path / "clip"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(60):
        cv2.imwrite(str(folder / f"img{i:03d}.png"), rng.integers(0, 255, (240, 240, 3), np.uint8))
    return folder


def check_export(out: Path) -> None:
    from mmnet_edge import Runtime

    path = out / "model.onnx"
    if path.exists():  # complete and valid, or absent
        with Runtime(path, backend="onnxruntime", align=False) as rt:
            rt.predict(np.zeros((112, 112, 3), np.uint8), np.zeros((112, 112, 3), np.uint8))


def check_calibrate(out: Path) -> None:
    path = out / "calib.npz"
    if path.exists():
        try:
            load_calibration_set(path)  # whole and matching its manifest …
        except MMNetEdgeError as exc:  # … or refused with a typed "rebuild"
            assert "rebuild" in str(exc)


def final_pngs(folder: Path) -> list[Path]:
    """PNGs at final names (a kill may leave hidden ``.NAME.partial.png`` temporaries)."""
    return [p for p in folder.glob("*.png") if not p.name.startswith(".")]


def check_align(out: Path) -> None:
    manifest = out / "clip" / "align.json"
    for png in final_pngs(out / "clip"):
        assert cv2.imread(str(png)) is not None, f"{png} half-written"
    if manifest.exists():
        assert len(final_pngs(out / "clip")) == 60


def check_train(out: Path) -> None:
    for rec in (out / "folds").glob("*.json"):
        json.loads(rec.read_text())  # atomic: never truncated
    if (out / "report.json").exists():
        json.loads((out / "report.json").read_text())


CHECKS = {
    "export": check_export,
    "calibrate": check_calibrate,
    "align": check_align,
    "train": check_train,
}


def result_of(kind: str, out: Path) -> object:
    """What a correct finished run leaves, for comparison with the uninterrupted one."""
    if kind == "export":
        return (out / "model.onnx").is_file()
    if kind == "calibrate":
        return load_calibration_set(out / "calib.npz").sha256()
    if kind == "align":
        return sorted((p.name, cv2.imread(str(p)).tobytes()) for p in (out / "clip").glob("*.png"))
    report = json.loads((out / "report.json").read_text())
    folds = [json.loads(p.read_text())["result"] for p in sorted((out / "folds").glob("*.json"))]
    return report["confusion_matrix"], [(f["name"], f["y_pred"]) for f in folds]


@pytest.mark.parametrize("kind", ["export", "calibrate", "align", "train"])
def test_sigkill_then_rerun(kind, tmp_path, frames, tiny_checkpoint, subprocess_env):
    src = frames if kind == "align" else tiny_checkpoint
    reference = tmp_path / "reference"
    duration = run_job(kind, src, reference, subprocess_env, None)
    expected = result_of(kind, reference)
    for i, at in enumerate(kill_points(duration, seed=len(kind), n=2 if kind == "train" else 1)):
        out = tmp_path / f"killed{i}"
        run_job(kind, src, out, subprocess_env, at)
        CHECKS[kind](out)  # after the kill: nothing half-written at a final name
        run_job(kind, src, out, subprocess_env, None)  # rerun (resume where it can)
        CHECKS[kind](out)
        assert result_of(kind, out) == expected, f"rerun after a kill at {at:.1f}s differs"
