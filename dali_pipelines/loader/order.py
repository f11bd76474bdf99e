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

from .shuffle import (
    CHUNK,
    FEISTEL_VERSION,
    FeistelPermutation,
    rank_index_chunks,
    rank_positions,
    split_count,
)

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

    #: A state saved at another world size or batch size resumes this order (elastic resume).
    elastic = True

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
        return self.segment_samples(0)

    def segment_samples(self, start: int) -> int:
        """Samples this rank delivers in the epoch's segment from global position ``start``."""
        return split_count(
            self.num_samples_total,
            self.rank,
            self.world_size,
            drop_last=self.drop_last,
            even=self.even_batches,
            start=start,
        )

    def __len__(self) -> int:
        """Batches per epoch on this rank, as torch's DataLoader over a DistributedSampler."""
        return self.batch_count(0)

    def batch_count(self, start: int) -> int:
        """Batches of this rank in the epoch's segment from global position ``start``."""
        m = self.segment_samples(start)
        return m // self.batch_size if self.drop_last else math.ceil(m / self.batch_size)

    @property
    def step_samples(self) -> int:
        """Global samples consumed by one batch on every rank (``batch_size * world_size``)."""
        return self.batch_size * self.world_size

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

    def rank_indices(self, epoch: int, start: int = 0) -> np.ndarray:
        """This rank's sample indices for ``epoch`` from global position ``start``, in
        delivery order (``start=0``: the whole epoch, as ``DistributedSampler``)."""
        if self._feistel:
            count = max(1, self.segment_samples(start))
            chunks = list(self.rank_index_chunks(epoch, chunk=count, start=start))
            return chunks[0] if chunks else np.empty(0, dtype=np.int64)
        n = self.num_samples_total
        count = self.segment_samples(start)
        positions = rank_positions(n, self.rank, self.world_size, count, start=start)
        if not self.shuffle:
            return positions
        return self.permutation(epoch)[positions]

    def rank_index_chunks(
        self, epoch: int, chunk: int = CHUNK, start: int = 0
    ) -> Iterator[np.ndarray]:
        """:meth:`rank_indices` ``chunk`` at a time: bounded memory with the Feistel shuffle."""
        if not self._feistel:
            indices = self.rank_indices(epoch, start)
            yield from (indices[i : i + chunk] for i in range(0, len(indices), chunk))
            return
        yield from rank_index_chunks(
            self.feistel(epoch),
            self.rank,
            self.world_size,
            drop_last=self.drop_last,
            even=self.even_batches,
            chunk=chunk,
            start=start,
        )

    def batches(self, epoch: int, start: int = 0) -> list[np.ndarray]:
        """The epoch's batches on this rank from global position ``start`` (the last one
        shorter unless ``drop_last``)."""
        indices = self.rank_indices(epoch, start)
        count, size = self.batch_count(start), self.batch_size
        return [indices[i * size : (i + 1) * size] for i in range(count)]

    @property
    def lazy(self) -> bool:
        """Any batch computable alone, in O(its size): a Feistel shuffle or no shuffle (a
        ``randperm`` order draws the whole permutation first)."""
        return self._feistel or not self.shuffle

    def batch_range(self, epoch: int, start: int, first: int, stop: int) -> list[np.ndarray]:
        """Batches ``first:stop`` of this rank in the epoch's segment from global position
        ``start``: bounded memory for a :attr:`lazy` order, whatever the epoch's size."""
        count, size = self.segment_samples(start), self.batch_size
        stop = min(stop, self.batch_count(start))
        if stop <= first:
            return []
        low, high = first * size, min(stop * size, count)
        if not self.lazy:
            indices = self.rank_indices(epoch, start)[low:high]
        else:
            n = self.num_samples_total
            positions = rank_positions(n, self.rank, self.world_size, count, low, high, start=start)
            indices = self.feistel(epoch).take(positions) if self._feistel else positions
        return [indices[i * size : (i + 1) * size] for i in range(stop - first)]

    def resume(self, epoch: int, batch: int, samples: int) -> tuple[list[np.ndarray], int]:
        """The batches left of ``epoch`` once ``samples`` of it were consumed across all ranks,
        and the number of the first (``batch``: this rank's count when the state was saved).

        Any world size and batch size: the segment from ``samples`` is split as a fresh run
        would split a whole epoch; the first batch's number is the step a run of this shape
        would be at, ``samples // (batch_size * world_size)``.
        """
        del batch  # the global position says it all for a permutation
        return self.batches(epoch, samples), samples // self.step_samples

    def consumed(self, epoch: int, start: int, base: int, number: int) -> int:
        """Samples of ``epoch`` consumed over all ranks once every rank ran ``number`` batches
        of the segment from global position ``start`` (its first batch numbered ``base``)."""
        del epoch
        return min(start + (number - base) * self.step_samples, self.num_samples_total)
