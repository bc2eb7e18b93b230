"""The README's "Embedding the runtime" example runs as written (file names substituted)."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmnet_edge.data.synthetic import make_clip, random_identity
from mmnet_edge.export.onnx import export_onnx

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    text = README.read_text()
    section = text.split("## Embedding the runtime", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_is_short_and_runs(
    tiny_checkpoint, detector_model_path, tmp_path, monkeypatch, capsys
):
    skimage_data = pytest.importorskip("skimage.data")
    code = readme_example()
    assert len([ln for ln in code.splitlines() if ln.strip()]) <= 12
    onnx_path = export_onnx(tiny_checkpoint, tmp_path / "model.onnx").path
    photo = skimage_data.astronaut()[:, :, ::-1]
    apex = photo.copy()
    apex[300:320, 230:280] = photo[302:322, 230:280]
    cv2.imwrite(str(tmp_path / "onset.jpg"), photo)
    cv2.imwrite(str(tmp_path / "apex.jpg"), apex)
    rng = np.random.default_rng(0)
    frames = make_clip(random_identity(rng), 3, 12, 6, rng, size=224)
    # a clip of the astronaut (detectable face) with the synthetic motion pasted on
    writer = cv2.VideoWriter(
        str(tmp_path / "clip.mp4"), cv2.VideoWriter_fourcc(*"FFV1"), 25, (512, 512)
    )
    for f in frames:
        frame = photo.copy()
        frame[150:374, 144:368] = f[:, :, ::-1]
        writer.write(frame)
    writer.release()
    code = code.replace('"runs/demo/export/model.onnx"', repr(str(onnx_path)))
    code = code.replace('"face_detection_yunet_2023mar.onnx"', repr(str(detector_model_path)))
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "onnxruntime" in out and "happiness" in out
