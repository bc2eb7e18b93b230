"""The sample model shared by every dataset reader, the trainer and the calibration tools.

A :class:`Sample` is one micro-expression clip reduced to what MMNet needs: the onset and
apex frames (file paths, or in-memory RGB arrays for the synthetic set), the label, and
optional annotations. A :class:`MEDataset` is an ordered collection of samples plus the
class names their integer labels index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from mmnet_edge.errors import DatasetError, InputError
from mmnet_edge.io import natural_sort_key, read_image
from mmnet_edge.preprocess import as_rgb_uint8


@dataclass(frozen=True, eq=False)
class Sample:
    """One labelled onset/apex pair.

    ``frame_paths`` (optional) lists the frames from onset to apex inclusive, so training can
    jitter the onset/apex choice (temporal jitter). In-memory samples (synthetic set) carry
    ``onset_image``/``apex_image`` RGB uint8 arrays instead of paths.
    """

    subject: str
    clip_id: str
    onset_path: Path | None
    apex_path: Path | None
    label: int
    label_name: str
    dataset: str = ""
    offset_path: Path | None = None
    aus: str | None = None
    onset_frame: int | None = None
    apex_frame: int | None = None
    offset_frame: int | None = None
    emotion: str | None = None
    frame_paths: tuple[Path, ...] = ()
    onset_image: np.ndarray | None = field(default=None, repr=False)
    apex_image: np.ndarray | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        """Unique ``subject/clip_id`` identifier."""
        return f"{self.subject}/{self.clip_id}"

    @property
    def in_memory(self) -> bool:
        return self.onset_image is not None and self.apex_image is not None

    def load_pair(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (onset, apex) as H×W×3 RGB uint8 (grayscale frames are replicated)."""
        if self.in_memory:
            return (
                as_rgb_uint8(self.onset_image, "rgb", f"{self.key} onset"),
                as_rgb_uint8(self.apex_image, "rgb", f"{self.key} apex"),
            )
        if self.onset_path is None or self.apex_path is None:
            raise DatasetError(f"sample {self.key} has neither frame paths nor images")
        return read_rgb(self.onset_path), read_rgb(self.apex_path)

    def with_label(self, label: int, label_name: str) -> Sample:
        return replace(self, label=label, label_name=label_name)


def read_rgb(path: Path | str) -> np.ndarray:
    """Read an image file as H×W×3 RGB uint8 with :func:`mmnet_edge.io.read_image`.

    Same pixels as the runtime and calibration read (EXIF orientation applied, 16-bit
    scaled by ``round(x / 257)``); a missing or undecodable frame raises :class:`DatasetError`.
    """
    try:
        image = read_image(path)
    except InputError as exc:
        raise DatasetError(f"dataset frame: {exc}") from exc
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class MEDataset:
    """An ordered list of :class:`Sample` with the class names their labels index."""

    def __init__(
        self,
        samples: Iterable[Sample],
        class_names: Iterable[str],
        name: str = "",
        root: Path | None = None,
        class_map: str = "",
    ) -> None:
        self.samples: list[Sample] = list(samples)
        self.class_names: tuple[str, ...] = tuple(class_names)
        self.name = name
        self.root = root
        self.class_map = class_map
        for s in self.samples:
            if not 0 <= s.label < len(self.class_names):
                raise DatasetError(
                    f"sample {s.key} has label {s.label} outside 0..{len(self.class_names) - 1}"
                )

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __getitem__(self, index: int) -> Sample:
        return self.samples[index]

    def __repr__(self) -> str:
        return (
            f"MEDataset(name={self.name!r}, samples={len(self)}, subjects={len(self.subjects)}, "
            f"classes={list(self.class_names)})"
        )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def subjects(self) -> list[str]:
        """Subjects in natural sort order."""
        return sorted({s.subject for s in self.samples}, key=natural_sort_key)

    @property
    def labels(self) -> list[int]:
        return [s.label for s in self.samples]

    def class_counts(self) -> dict[str, int]:
        """Samples per class name (every class present, zeros included)."""
        counts = Counter(s.label for s in self.samples)
        return {name: counts.get(i, 0) for i, name in enumerate(self.class_names)}

    def subset(self, predicate: Callable[[Sample], bool]) -> MEDataset:
        """A new dataset with the samples for which ``predicate`` is true."""
        return MEDataset(
            [s for s in self.samples if predicate(s)],
            self.class_names,
            self.name,
            self.root,
            self.class_map,
        )

    def summary(self) -> dict[str, object]:
        return {
            "dataset": self.name,
            "root": str(self.root) if self.root else None,
            "class_map": self.class_map,
            "samples": len(self),
            "subjects": len(self.subjects),
            "class_counts": self.class_counts(),
        }


__all__ = ["MEDataset", "Sample", "read_rgb"]
