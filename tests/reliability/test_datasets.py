"""Paths read from annotation files must stay inside the dataset root."""

from __future__ import annotations

import shutil
import warnings

import openpyxl
import pytest

from mmnet_edge.data import load_dataset
from mmnet_edge.data.casme2 import RAW_DIR, SPREADSHEET
from mmnet_edge.data.casme2_writer import write_casme2_layout
from mmnet_edge.errors import DatasetError
from mmnet_edge.synth import SyntheticConfig


@pytest.fixture
def casme2_root(tmp_path):
    cfg = SyntheticConfig(subjects=2, samples_per_class=1, image_size=64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return write_casme2_layout(cfg, tmp_path / "CASME2")


def edit_first_clip(root, new_name: str) -> None:
    wb = openpyxl.load_workbook(root / SPREADSHEET)
    ws = wb.active
    ws.cell(row=2, column=2).value = new_name  # Filename column of the first sample
    wb.save(root / SPREADSHEET)


def test_reader_works_before_tampering(casme2_root):
    ds = load_dataset("casme2", casme2_root)
    assert len(ds) > 0


@pytest.mark.parametrize("escape", ["../../../outside/EP01", "../sub02/../../../outside/EP01"])
def test_annotation_paths_cannot_leave_the_root(casme2_root, escape):
    wb = openpyxl.load_workbook(casme2_root / SPREADSHEET)
    subject_dir = casme2_root / RAW_DIR / f"sub{int(wb.active.cell(row=2, column=1).value):02d}"
    clip_dir = subject_dir / str(wb.active.cell(row=2, column=2).value)
    outside = casme2_root.parent / "outside" / "EP01"
    outside.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(clip_dir, outside)  # real frames there: only the root check can refuse
    assert (subject_dir / escape).resolve() == outside.resolve()
    edit_first_clip(casme2_root, escape)
    with pytest.raises(DatasetError, match="outside the dataset root"):
        load_dataset("casme2", casme2_root)


def test_absolute_clip_path_is_refused(casme2_root, tmp_path):
    outside = tmp_path / "abs"
    wb = openpyxl.load_workbook(casme2_root / SPREADSHEET)
    subject_dir = casme2_root / RAW_DIR / f"sub{int(wb.active.cell(row=2, column=1).value):02d}"
    shutil.copytree(subject_dir / str(wb.active.cell(row=2, column=2).value), outside)
    edit_first_clip(casme2_root, str(outside))
    with pytest.raises(DatasetError, match="outside the dataset root"):
        load_dataset("casme2", casme2_root)
