"""The sample order the loader owns: a global permutation per epoch, split like DistributedSampler.

Per epoch, ``torch.randperm(n)`` from a generator seeded with ``seed + epoch`` (exactly what
``DistributedSampler`` does), padded by wrap-around or truncated to a multiple of the world size,
then rank ``r`` takes ``indices[r::world_size]``. Batching then follows ``DataLoader``: one
``drop_last`` governs both levels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EpochOrder:
    num_samples_total: int
    batch_size: int
    shuffle: bool = False
    drop_last: bool = False
    seed: int = 0
    rank: int = 0
    world_size: int = 1
    #: False (evaluation only): no padding duplicates; ranks may get different batch counts.
    even_batches: bool = True

    def __post_init__(self) -> None:
        if self.num_samples_total <= 0:
            raise ValueError(f"dataset: expected at least 1 sample, got {self.num_samples_total}")
        if self.batch_size <= 0:
            raise ValueError(f"batch_size: expected a positive int, got {self.batch_size}")
        if not 0 <= self.rank < self.world_size:
            raise ValueError(
                f"rank: expected 0 <= rank < world_size={self.world_size}, got {self.rank}"
            )

    @property
    def samples_per_rank(self) -> int:
        """Samples this rank delivers per epoch (DistributedSampler.num_samples)."""
        n, w = self.num_samples_total, self.world_size
        if not self.even_batches:
            return len(range(self.rank, n, w))
        if self.drop_last and n % w:
            return math.ceil((n - w) / w)
        return math.ceil(n / w)

    def __len__(self) -> int:
        """Batches per epoch on this rank, as torch's DataLoader over a DistributedSampler."""
        m = self.samples_per_rank
        return m // self.batch_size if self.drop_last else math.ceil(m / self.batch_size)

    def permutation(self, epoch: int) -> np.ndarray:
        n = self.num_samples_total
        if not self.shuffle:
            return np.arange(n, dtype=np.int64)
        import torch

        generator = torch.Generator()
        generator.manual_seed(self.seed + epoch)
        return torch.randperm(n, generator=generator).numpy().astype(np.int64)

    def rank_indices(self, epoch: int) -> np.ndarray:
        """This rank's sample indices for ``epoch``, in delivery order."""
        indices = self.permutation(epoch)
        if not self.even_batches:
            return indices[self.rank :: self.world_size]
        total = self.samples_per_rank * self.world_size
        if total > len(indices):  # pad by wrap-around, repeating the list if needed
            reps = math.ceil(total / len(indices))
            indices = np.tile(indices, reps)
        indices = indices[:total]
        return indices[self.rank : total : self.world_size]

    def batches(self, epoch: int) -> list[np.ndarray]:
        """The epoch's batches on this rank (the last one shorter unless ``drop_last``)."""
        indices = self.rank_indices(epoch)
        count = len(self)
        return [indices[i * self.batch_size : (i + 1) * self.batch_size] for i in range(count)]
