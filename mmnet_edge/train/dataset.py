"""Samples → normalised (onset, apex, label) tensors, and the seeded data loaders."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

from mmnet_edge.data import Sample
from mmnet_edge.data.samples import read_rgb
from mmnet_edge.metadata import IMAGENET_MEAN, IMAGENET_STD
from mmnet_edge.preprocess import resize_square, to_tensor
from mmnet_edge.train.augment import AugmentConfig, augment_pair, jitter_frames


class PairDataset(Dataset):
    """Samples → (onset, apex, label) tensors through the shared preprocessing path."""

    def __init__(
        self,
        samples: Sequence[Sample],
        size: int,
        mean: Sequence[float],
        std: Sequence[float],
        augment: AugmentConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.samples = list(samples)
        self.size, self.mean, self.std = size, tuple(mean), tuple(std)
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self._cache: dict[Any, Any] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def _frame(self, path: Path) -> np.ndarray:
        if path not in self._cache:
            self._cache[path] = resize_square(read_rgb(path), self.size)
        return self._cache[path]

    def _pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index not in self._cache:
            onset, apex = self.samples[index].load_pair()
            self._cache[index] = (resize_square(onset, self.size), resize_square(apex, self.size))
        return self._cache[index]

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Sample ``key``: an index (at :meth:`set_epoch`'s epoch) or ``(epoch, index)``."""
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        s = self.samples[index]
        rng = np.random.default_rng([self.seed, epoch, index])
        picked = None
        if self.augment is not None and self.augment.temporal_jitter:
            picked = jitter_frames(s, rng)
        if picked is not None:
            onset, apex = self._frame(picked[0]), self._frame(picked[1])
        else:
            onset, apex = self._pair(index)
        if self.augment is not None:
            onset, apex = augment_pair(onset, apex, rng, self.augment)
        t = to_tensor([onset, apex], self.size, self.mean, self.std)
        return torch.from_numpy(t[0]), torch.from_numpy(t[1]), s.label


def eval_dataset(
    samples: Sequence[Sample],
    size: int,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> PairDataset:
    """Samples at ``size`` px without augmentation (``mean``/``std``: the metadata defaults)."""
    return PairDataset(samples, size, mean, std, None)


class SeededShuffle(RandomSampler):
    """A shuffle and augmentation that depend on the seed and epoch only, not on workers.

    A DataLoader draws its workers' base seed from its generator every epoch — but with
    persistent workers only in the first — so a generator shared with the shuffle gives
    other batches from the second epoch on with workers than without. This sampler owns its
    generator and makes that draw itself every epoch: the order ``workers=0`` always had.
    It yields ``(epoch, index)``: persistent workers hold a copy of the dataset that never
    sees :meth:`PairDataset.set_epoch`, so the epoch travels with each index.
    """

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        epoch = int(getattr(self.data_source, "epoch", 0))
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        for index in super().__iter__():
            yield epoch, index


def make_loader(
    ds: PairDataset, batch: int, shuffle: bool, seed: int, workers: int
) -> DataLoader[Any]:
    """A DataLoader whose shuffling is seeded by ``seed`` (the same order for any ``workers``;
    augmentation draws from ``(seed, epoch, index)`` in the dataset, also worker-free)."""
    g = torch.Generator()
    g.manual_seed(seed)
    loader_g = torch.Generator()  # the workers' base seeds only
    loader_g.manual_seed(seed)
    return DataLoader(
        ds,
        batch_size=batch,
        sampler=SeededShuffle(ds, generator=g) if shuffle else None,
        generator=loader_g,
        num_workers=workers,
        drop_last=False,
        persistent_workers=workers > 0,
    )


__all__ = ["PairDataset", "eval_dataset", "make_loader"]
