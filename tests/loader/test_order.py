from __future__ import annotations

import itertools

import pytest
import torch
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import DistributedSampler

from dali_pipelines.loader.order import EpochOrder


class _Range(torch.utils.data.Dataset[int]):
    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


@pytest.mark.parametrize(
    ("n", "batch", "world", "drop_last", "shuffle"),
    list(
        itertools.product([1, 7, 20, 21, 101], [1, 4, 7], [1, 2, 3], [False, True], [False, True])
    ),
)
def test_matches_torch_distributed_sampler(
    n: int, batch: int, world: int, drop_last: bool, shuffle: bool
) -> None:
    for rank in range(world):
        order = EpochOrder(n, batch, shuffle, drop_last, seed=5, rank=rank, world_size=world)
        sampler = DistributedSampler(
            _Range(n), num_replicas=world, rank=rank, shuffle=shuffle, seed=5, drop_last=drop_last
        )
        loader = TorchDataLoader(_Range(n), batch_size=batch, sampler=sampler, drop_last=drop_last)
        assert len(order) == len(loader)
        for epoch in (0, 3):
            sampler.set_epoch(epoch)
            expected = [b.tolist() for b in loader]
            assert [b.tolist() for b in order.batches(epoch)] == expected


def test_every_sample_once_per_epoch_single_process() -> None:
    order = EpochOrder(23, 5, shuffle=True, seed=1)
    seen = sorted(int(i) for b in order.batches(2) for i in b)
    assert seen == list(range(23))
    assert order.batches(1)[0].tolist() != order.batches(2)[0].tolist()


def test_uneven_batches_cover_each_sample_once_across_ranks() -> None:
    world, n = 3, 10
    orders = [
        EpochOrder(n, 4, False, False, rank=r, world_size=world, even_batches=False)
        for r in range(world)
    ]
    delivered = sorted(int(i) for o in orders for b in o.batches(0) for i in b)
    assert delivered == list(range(n))
    assert [o.samples_per_rank for o in orders] == [4, 3, 3]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="batch_size: expected a positive int, got 0"):
        EpochOrder(5, 0)
    with pytest.raises(ValueError, match="rank: expected 0 <= rank < world_size=2, got 2"):
        EpochOrder(5, 1, rank=2, world_size=2)
