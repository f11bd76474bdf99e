"""The sample order the loader owns: a global permutation per epoch, split like DistributedSampler.

Per epoch, ``torch.randperm(n)`` from a generator seeded with ``seed + epoch`` (exactly what
``DistributedSampler`` does), padded by wrap-around or truncated to a multiple of the world size,
then rank ``r`` takes ``indices[r::world_size]``. Batching then follows ``DataLoader``: one
``drop_last`` governs both levels.

``shuffle_algorithm="feistel"`` replaces ``torch.randperm`` with the constant-memory keyed
bijection of :mod:`.shuffle` (position -> sample on demand, keyed by ``(seed, epoch)``): the same
split and padding, computed from positions, so no rank materializes ``n`` indices. The default
stays ``"randperm"``, bitwise equal to ``DistributedSampler``; a Feistel order has a
``fingerprint`` (``feistel/v1``) that a resumed state must match.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .shuffle import CHUNK, FEISTEL_VERSION, FeistelPermutation, rank_index_chunks, split_count

ShuffleAlgorithm = Literal["randperm", "feistel"]
SHUFFLE_ALGORITHMS: tuple[str, ...] = ("randperm", "feistel")


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
    #: ``"randperm"``: ``DistributedSampler``'s permutation; ``"feistel"``: constant memory.
    shuffle_algorithm: ShuffleAlgorithm = "randperm"

    def __post_init__(self) -> None:
        if self.num_samples_total <= 0:
            raise ValueError(f"dataset: expected at least 1 sample, got {self.num_samples_total}")
        if self.batch_size <= 0:
            raise ValueError(f"batch_size: expected a positive int, got {self.batch_size}")
        if not 0 <= self.rank < self.world_size:
            raise ValueError(
                f"rank: expected 0 <= rank < world_size={self.world_size}, got {self.rank}"
            )
        if self.shuffle_algorithm not in SHUFFLE_ALGORITHMS:
            raise ValueError(
                f"shuffle_algorithm: expected one of {', '.join(SHUFFLE_ALGORITHMS)}, "
                f"got {self.shuffle_algorithm!r}"
            )

    @property
    def _feistel(self) -> bool:
        return self.shuffle and self.shuffle_algorithm == "feistel"

    @property
    def fingerprint(self) -> str | None:
        """What a resumed state's ``order`` must equal: ``None`` for ``DistributedSampler``'s
        order (as before), the construction's name and version for a Feistel shuffle."""
        return f"feistel/v{FEISTEL_VERSION}" if self._feistel else None

    def feistel(self, epoch: int) -> FeistelPermutation:
        """The epoch's keyed bijection (``shuffle_algorithm="feistel"``), O(1) memory."""
        return FeistelPermutation.for_epoch(self.num_samples_total, self.seed, epoch)

    @property
    def samples_per_rank(self) -> int:
        """Samples this rank delivers per epoch (DistributedSampler.num_samples)."""
        return split_count(
            self.num_samples_total,
            self.rank,
            self.world_size,
            drop_last=self.drop_last,
            even=self.even_batches,
        )

    def __len__(self) -> int:
        """Batches per epoch on this rank, as torch's DataLoader over a DistributedSampler."""
        m = self.samples_per_rank
        return m // self.batch_size if self.drop_last else math.ceil(m / self.batch_size)

    def permutation(self, epoch: int) -> np.ndarray:
        n = self.num_samples_total
        if not self.shuffle:
            return np.arange(n, dtype=np.int64)
        if self._feistel:  # materializes n: the rank's own methods never call this
            return self.feistel(epoch).take(np.arange(n, dtype=np.int64))
        import torch

        generator = torch.Generator()
        generator.manual_seed(self.seed + epoch)
        return torch.randperm(n, generator=generator).numpy().astype(np.int64)

    def rank_indices(self, epoch: int) -> np.ndarray:
        """This rank's sample indices for ``epoch``, in delivery order."""
        if self._feistel:
            chunks = list(self.rank_index_chunks(epoch, chunk=max(1, self.samples_per_rank)))
            return chunks[0] if chunks else np.empty(0, dtype=np.int64)
        indices = self.permutation(epoch)
        if not self.even_batches:
            return indices[self.rank :: self.world_size]
        total = self.samples_per_rank * self.world_size
        if total > len(indices):  # pad by wrap-around, repeating the list if needed
            reps = math.ceil(total / len(indices))
            indices = np.tile(indices, reps)
        indices = indices[:total]
        return indices[self.rank : total : self.world_size]

    def rank_index_chunks(self, epoch: int, chunk: int = CHUNK) -> Iterator[np.ndarray]:
        """:meth:`rank_indices` ``chunk`` at a time: bounded memory with the Feistel shuffle."""
        if not self._feistel:
            indices = self.rank_indices(epoch)
            yield from (indices[i : i + chunk] for i in range(0, len(indices), chunk))
            return
        yield from rank_index_chunks(
            self.feistel(epoch),
            self.rank,
            self.world_size,
            drop_last=self.drop_last,
            even=self.even_batches,
            chunk=chunk,
        )

    def batches(self, epoch: int) -> list[np.ndarray]:
        """The epoch's batches on this rank (the last one shorter unless ``drop_last``)."""
        indices = self.rank_indices(epoch)
        count = len(self)
        return [indices[i * self.batch_size : (i + 1) * self.batch_size] for i in range(count)]
