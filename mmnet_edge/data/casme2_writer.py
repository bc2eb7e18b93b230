"""Write a synthetic set in the official CASME II layout (frames + coding spreadsheet).

File and folder names and the spreadsheet header are the ones :mod:`mmnet_edge.data.casme2`
reads, so every reader and trainer path can run on synthetic data end to end.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2

from mmnet_edge.data.casme2 import RAW_DIR, SPREADSHEET
from mmnet_edge.errors import DatasetError
from mmnet_edge.synth import SyntheticConfig

if TYPE_CHECKING:
    from mmnet_edge.data.synthetic import SyntheticSet

CASME2_HEADER = (
    "Subject",
    "Filename",
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    "Action Units",
    "Estimated Emotion",
)


def write_casme2_layout(
    data: SyntheticSet | SyntheticConfig,
    root: Path | str,
    frame_dir: str = RAW_DIR,
    jpeg_quality: int = 98,
) -> Path:
    """Write the set as ``root/CASME2_RAW_selected/subNN/EPxx_yy/img<n>.jpg`` plus
    ``root/CASME2-coding-20190701.xlsx`` (the official CASME II layout); returns ``root``.

    Only the onset and apex frames are written (no intermediate frames), so temporal
    jitter is not exercised by this layout.
    """
    import openpyxl

    from mmnet_edge.data.synthetic import generate_synthetic

    ds = generate_synthetic(data) if isinstance(data, SyntheticConfig) else data
    root = Path(root)
    frames_root = root / frame_dir
    frames_root.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(list(CASME2_HEADER))
    params = [int(cv2.IMWRITE_JPEG_QUALITY), int(jpeg_quality)]
    if hasattr(cv2, "IMWRITE_JPEG_SAMPLING_FACTOR"):  # 4:4:4, keep colour edges sharp
        params += [int(cv2.IMWRITE_JPEG_SAMPLING_FACTOR), int(cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444)]
    for i, s in enumerate(ds):
        onset_no = 10 + (i % 7) * 3
        apex_no = onset_no + 6
        clip_dir = frames_root / s.subject / s.clip_id
        clip_dir.mkdir(parents=True, exist_ok=True)
        onset, apex = s.load_pair()
        for no, img in ((onset_no, onset), (apex_no, apex)):
            if not cv2.imwrite(str(clip_dir / f"img{no}.jpg"), img[:, :, ::-1], params):
                raise DatasetError(f"cannot write {clip_dir / f'img{no}.jpg'}")
        subject_no = s.subject.removeprefix("sub")
        ws.append([subject_no, s.clip_id, onset_no, apex_no, apex_no + 6, s.aus, s.label_name])
    wb.save(root / SPREADSHEET)
    return root


__all__ = ["CASME2_HEADER", "write_casme2_layout"]
