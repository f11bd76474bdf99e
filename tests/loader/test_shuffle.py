"""The constant-memory shuffle: a bijection, deterministic per (seed, epoch), uniform, and split
across ranks exactly like ``DistributedSampler`` (padding by wrap-around, or truncation)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from dali_pipelines.loader.order import EpochOrder
from dali_pipelines.loader.shuffle import (
    MAX_SIZE,
    FeistelPermutation,
    rank_index_chunks,
    round_keys,
)

#: Significance of the statistical tests (their seeds are fixed: each outcome is deterministic).
ALPHA = 1e-3
MILLION = 10**6

SIZES = sorted(
    {*range(1, 70), *(2**k + d for k in range(1, 13) for d in (-1, 0, 1)), 999, 1001, 12345}
)


@pytest.mark.parametrize("n", SIZES)
def test_every_size_is_a_permutation(n: int) -> None:
    perm = FeistelPermutation.for_epoch(n, seed=7, epoch=n % 3)
    values = perm.take(np.arange(n))
    assert values.dtype == np.int64
    assert np.array_equal(np.sort(values), np.arange(n))
    assert perm.domain >= n and perm.domain < 4 * n + 4


def test_large_sizes_random_access() -> None:
    for n in (10**9, 10**12 + 39, MAX_SIZE):
        perm = FeistelPermutation.for_epoch(n, seed=1, epoch=2)
        positions = np.array([0, 1, 2, n // 2, n - 2, n - 1], dtype=np.int64)
        values = perm.take(positions)
        assert len(set(values.tolist())) == len(positions)
        assert ((values >= 0) & (values < n)).all()
        assert [perm[int(p)] for p in positions] == values.tolist()
    with pytest.raises(ValueError, match="n: expected 1 <= n <= 2"):
        FeistelPermutation(MAX_SIZE + 1, (1,))
    with pytest.raises(ValueError, match="n: expected"):
        FeistelPermutation(0, (1,))


def test_deterministic_per_seed_and_epoch() -> None:
    n = 5000
    a = FeistelPermutation.for_epoch(n, 3, 4).take(np.arange(n))
    b = FeistelPermutation.for_epoch(n, 3, 4).take(np.arange(n))
    assert np.array_equal(a, b)
    assert round_keys(3, 4) == round_keys(3, 4)
    others = [(3, 5), (4, 4), (4, 3), (0, 0)]  # (4, 3): seed + epoch alike, still different
    for seed, epoch in others:
        c = FeistelPermutation.for_epoch(n, seed, epoch).take(np.arange(n))
        assert np.count_nonzero(a == c) < 20  # ~1 fixed agreement expected
    with pytest.raises(ValueError, match="seed, epoch"):
        round_keys(-1, 0)


def test_random_access_equals_sequential() -> None:
    n = 100_003
    perm = FeistelPermutation.for_epoch(n, 11, 0)
    sequential = np.concatenate(list(perm.chunks(chunk=4096)))
    assert np.array_equal(sequential, perm.take(np.arange(n)))
    rng = np.random.default_rng(0)
    positions = rng.integers(0, n, 200)
    assert [perm[int(p)] for p in positions] == sequential[positions].tolist()
    assert perm[-1] == sequential[-1]
    assert np.array_equal(
        perm.take(positions.reshape(10, 20)), sequential[positions].reshape(10, 20)
    )
    with pytest.raises(IndexError):
        perm[n]
    with pytest.raises(IndexError):
        perm.take(np.array([n]))


def test_positions_uniform_within_a_permutation() -> None:
    """10^6 items: (position decile, value decile) in a 100 x 100 table, chi-square independence."""
    values = FeistelPermutation.for_epoch(MILLION, 0, 0).take(np.arange(MILLION))
    bins = 100
    cells = (np.arange(MILLION) * bins // MILLION) * bins + values * bins // MILLION
    table = np.bincount(cells, minlength=bins * bins).reshape(bins, bins)
    assert stats.chi2_contingency(table).pvalue > ALPHA


def test_fixed_positions_uniform_across_keys() -> None:
    """A fixed position's sample over 4000 epochs: uniform over [0, 10^6) (50 bins)."""
    epochs, bins = 4000, 50
    for position in (0, 1, MILLION - 1):
        samples = np.array(
            [FeistelPermutation.for_epoch(MILLION, 5, e)[position] for e in range(epochs)]
        )
        counts = np.bincount(samples * bins // MILLION, minlength=bins)
        assert stats.chisquare(counts).pvalue > ALPHA


def test_epochs_uncorrelated() -> None:
    """Spearman's rho between two epochs' permutations of 10^6 items (and with the identity)."""
    first = FeistelPermutation.for_epoch(MILLION, 0, 0).take(np.arange(MILLION))
    second = FeistelPermutation.for_epoch(MILLION, 0, 1).take(np.arange(MILLION))

    def rho(a: np.ndarray, b: np.ndarray) -> float:  # permutations are their own ranks
        return float(np.corrcoef(a.astype(np.float64), b.astype(np.float64))[0, 1])

    assert abs(rho(first, second)) < 0.01
    assert abs(rho(np.arange(MILLION), first)) < 0.01
    # the sample following a sample: no serial structure either
    assert abs(rho(first[:-1], first[1:])) < 0.01


def _sampler_split(perm: np.ndarray, rank: int, world: int, drop_last: bool) -> np.ndarray:
    """DistributedSampler's split of a materialized permutation (its own code, on our order)."""
    n = len(perm)
    count = math.ceil((n - world) / world) if drop_last and n % world else math.ceil(n / world)
    total = count * world
    indices = perm.tolist()
    if total > n:
        padding = total - n
        indices += (indices * math.ceil(padding / n))[:padding]
    return np.array(indices[:total][rank:total:world], dtype=np.int64)


@pytest.mark.parametrize(
    ("n", "world", "drop_last"),
    list(itertools.product([1, 2, 7, 64, 1025], [1, 2, 3, 8, 13], [False, True])),
)
def test_rank_split(n: int, world: int, drop_last: bool) -> None:
    perm = FeistelPermutation.for_epoch(n, 2, 1)
    full = perm.take(np.arange(n))
    ranks = [
        np.concatenate(
            [
                np.empty(0, np.int64),
                *rank_index_chunks(perm, r, world, drop_last=drop_last, chunk=37),
            ]
        )
        for r in range(world)
    ]
    for r in range(world):
        assert np.array_equal(ranks[r], _sampler_split(full, r, world, drop_last))
    counts = {len(indices) for indices in ranks}
    assert len(counts) == 1  # equal counts on every rank
    delivered = np.concatenate(ranks)
    if drop_last or n % world == 0:
        assert len(set(delivered.tolist())) == len(delivered)  # each sample at most once
    if not drop_last:
        assert set(delivered.tolist()) == set(range(n))  # each sample at least once


def test_uneven_split_covers_each_sample_once() -> None:
    n, world = 1001, 8
    perm = FeistelPermutation.for_epoch(n, 0, 0)
    chunks = [c for r in range(world) for c in rank_index_chunks(perm, r, world, even=False)]
    assert sorted(np.concatenate(chunks).tolist()) == list(range(n))


def test_epoch_order_feistel() -> None:
    n, world, batch = 103, 4, 5
    orders = [
        EpochOrder(n, batch, True, False, 9, r, world, shuffle_algorithm="feistel")
        for r in range(world)
    ]
    full = orders[0].permutation(3)
    assert np.array_equal(full, FeistelPermutation.for_epoch(n, 9, 3).take(np.arange(n)))
    for r, order in enumerate(orders):
        assert np.array_equal(order.rank_indices(3), _sampler_split(full, r, world, False))
        chunks = np.concatenate(list(order.rank_index_chunks(3, chunk=7)))
        assert np.array_equal(chunks, order.rank_indices(3))
        batches = order.batches(3)
        assert len(batches) == len(order) == math.ceil(26 / batch)
        assert np.array_equal(np.concatenate(batches), order.rank_indices(3))
        assert order.fingerprint == "feistel/v1"
    assert not np.array_equal(orders[0].rank_indices(3), orders[0].rank_indices(4))


def test_epoch_order_defaults_unchanged() -> None:
    randperm = EpochOrder(20, 4, True, seed=1)
    assert randperm.shuffle_algorithm == "randperm"
    assert randperm.fingerprint is None
    unshuffled = EpochOrder(20, 4, False, shuffle_algorithm="feistel")
    assert unshuffled.fingerprint is None  # no shuffle: the same order either way
    assert unshuffled.rank_indices(0).tolist() == list(range(20))
    chunks = np.concatenate(list(randperm.rank_index_chunks(2, chunk=3)))
    assert np.array_equal(chunks, randperm.rank_indices(2))
    with pytest.raises(ValueError, match="shuffle_algorithm: expected one of randperm, feistel"):
        EpochOrder(20, 4, True, shuffle_algorithm="sort")  # type: ignore[arg-type]
