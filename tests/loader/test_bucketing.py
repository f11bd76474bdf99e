from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dali_pipelines.errors import LoaderConfigError, LoaderStateError
from dali_pipelines.loader.bucketing import (
    BucketingConfig,
    LengthBucketOrder,
    compare_padding,
    padding_ratio,
)

WORLD = 3


def _lognormal(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(mean=1.5, sigma=0.8, size=n)


def _ranks(
    durations: np.ndarray, batch_size: int, world: int = WORLD, **kwargs: Any
) -> list[LengthBucketOrder]:
    """Every rank's order of one setup, as the ranks of one job build them."""
    return [
        LengthBucketOrder(durations, batch_size, rank=rank, world_size=world, **kwargs)
        for rank in range(world)
    ]


def _delivered(orders: list[LengthBucketOrder], epoch: int) -> list[int]:
    return sorted(int(i) for order in orders for batch in order.batches(epoch) for i in batch)


def _lists(batches: list[np.ndarray]) -> list[list[int]]:
    return [batch.tolist() for batch in batches]


# n = 3: one sample per rank; 4 and 5 with batch_size 4: the one batch is split across ranks.
@pytest.mark.parametrize(
    ("n", "batch_size", "equal", "shuffle"),
    [
        (n, b, equal, shuffle)
        for n, b, equal, shuffle in itertools.product(
            [3, 5, 16, 17, 50, 101, 1000], [2, 4, 16], [False, True], [False, True]
        )
        if n >= b
    ]
    + [(3, 1, False, True), (4, 4, False, True), (5, 4, True, False), (6, 1, False, True)],
)
def test_every_sample_exactly_once_across_ranks(
    n: int, batch_size: int, equal: bool, shuffle: bool
) -> None:
    durations = np.full(n, 2.5) if equal else _lognormal(n)
    orders = _ranks(durations, batch_size, shuffle=shuffle, seed=7)
    assert len({len(order) for order in orders}) == 1
    for epoch in (0, 1, 5):
        assert _delivered(orders, epoch) == list(range(n))
        for order in orders:
            batches = order.batches(epoch)
            assert len(batches) == len(order)
            assert all(1 <= len(batch) <= batch_size for batch in batches)
            assert sum(len(batch) for batch in batches) == order.samples_per_rank


def test_batches_hold_one_bucket_of_the_sorted_order() -> None:
    durations = _lognormal(1000, seed=3)
    order = LengthBucketOrder(durations, 16, shuffle=True, config=BucketingConfig(num_buckets=10))
    position = np.empty(1000, dtype=np.int64)
    position[np.argsort(durations, kind="stable")] = np.arange(1000)
    for batch in order.batches(4):
        assert len(set((position[batch] // 100).tolist())) == 1  # 10 buckets of 100


def test_shuffle_mixes_the_buckets_in_the_batch_order() -> None:
    durations = _lognormal(1000, seed=4)
    order = LengthBucketOrder(durations, 10, shuffle=True, config=BucketingConfig(num_buckets=10))
    rank_of = np.empty(1000, dtype=np.int64)
    rank_of[np.argsort(durations, kind="stable")] = np.arange(1000)
    sequences = [[int(rank_of[b][0]) // 100 for b in order.batches(e)] for e in (0, 1)]
    assert sequences[0] != sorted(sequences[0])  # not bucket after bucket
    assert sequences[0] != sequences[1]


def test_splits_halve_the_largest_batch() -> None:
    # 10 samples, batches of 8: [8, 2]; three ranks need a third batch: 8 splits into 4 + 4.
    orders = _ranks(np.arange(1.0, 11.0), 8, config=BucketingConfig(num_buckets=1))
    assert sorted(len(b) for o in orders for b in o.batches(0)) == [2, 4, 4]
    # 21 samples in batches of 4: five of 4 and one of 1; four ranks need 2 splits.
    orders = _ranks(np.ones(21), 4, 4, config=BucketingConfig(num_buckets=1))
    assert sorted(len(b) for o in orders for b in o.batches(0)) == [1, 2, 2, 2, 2, 4, 4, 4]


def test_without_shuffle_the_sorted_order_ties_by_index() -> None:
    durations = np.array([3.0, 1.0, 2.0, 1.0, 3.0, 0.5, 2.0])
    order = LengthBucketOrder(durations, 2, config=BucketingConfig(num_buckets=2))
    flat = [i for batch in order.batches(0) for i in batch.tolist()]
    assert flat == [5, 1, 3, 2, 6, 0, 4]
    assert _lists(order.batches(0)) == _lists(order.batches(9))


def test_deterministic_across_calls_and_instances_epochs_differ() -> None:
    durations = _lognormal(500)
    first = LengthBucketOrder(durations, 8, shuffle=True, seed=11, rank=1, world_size=WORLD)
    again = LengthBucketOrder(durations, 8, shuffle=True, seed=11, rank=1, world_size=WORLD)
    assert _lists(first.batches(2)) == _lists(first.batches(2)) == _lists(again.batches(2))
    assert _lists(first.batches(2)) != _lists(first.batches(3))
    other_seed = LengthBucketOrder(durations, 8, shuffle=True, seed=12, rank=1, world_size=WORLD)
    assert _lists(first.batches(2)) != _lists(other_seed.batches(2))


@pytest.mark.parametrize("shuffle", [False, True])
def test_resume_at_batch_k_is_the_tail(shuffle: bool) -> None:
    durations = _lognormal(300)
    config = BucketingConfig(num_buckets=5, max_seconds=60.0)
    setup = (durations, 16, shuffle, False, 4, 2, WORLD, config)
    run = LengthBucketOrder(*setup)
    delivered = []
    for k, batch in enumerate(run.batches(6)):
        delivered.append(batch.tolist())
        batch[:] = -1  # a consumer writing into its batch must not change a resumed epoch
        if k == 4:
            break
    restarted = LengthBucketOrder(*setup)  # a new process resuming at batch 5
    resumed = _lists(restarted.batches(6)[5:])
    assert len(resumed) == len(restarted) - 5 > 0
    assert delivered + resumed == _lists(run.batches(6))


@pytest.mark.parametrize("drop_last", [False, True])
def test_len_and_samples_per_rank_are_the_same_every_epoch(drop_last: bool) -> None:
    durations = _lognormal(777, seed=5)
    config = BucketingConfig(num_buckets=7, max_seconds=45.0)
    for order in _ranks(durations, 12, shuffle=True, drop_last=drop_last, config=config):
        for epoch in range(6):
            batches = order.batches(epoch)
            assert len(batches) == len(order)
            assert sum(len(b) for b in batches) == order.samples_per_rank


def test_max_seconds_bounds_the_padded_duration() -> None:
    durations = np.concatenate([_lognormal(999, seed=2), [90.0]])  # one sample alone too long
    budget = 40.0
    config = BucketingConfig(num_buckets=8, max_seconds=budget)
    orders = _ranks(durations, 32, shuffle=True, config=config)
    singles_over = 0
    for order in orders:
        for batch in order.batches(1):
            padded = len(batch) * durations[batch].max()
            if len(batch) == 1:
                singles_over += padded > budget
            else:
                assert padded <= budget
    assert singles_over >= 1
    assert _delivered(orders, 1) == list(range(1000))


def test_max_seconds_survives_the_division_rounding_up() -> None:
    # 30.2613.../10.0871... rounds to 3.0, yet 3 * 10.0871... > 30.2613...: 2 per batch.
    longest, budget = 10.087106271244588, 30.261318813733762
    config = BucketingConfig(num_buckets=1, max_seconds=budget)
    order = LengthBucketOrder(np.full(8, longest), 16, config=config)
    assert math.floor(budget / longest) == 3 and order.bucket_batch_sizes == (2,)
    assert all(len(batch) * longest <= budget for batch in order.batches(0))


def test_drop_last_keeps_batches_full_and_varies_who_sits_out() -> None:
    durations = _lognormal(203, seed=9)
    orders = _ranks(durations, 8, shuffle=True, drop_last=True)
    seen = []
    for epoch in (0, 1):
        delivered = _delivered(orders, epoch)
        assert len(delivered) == len(set(delivered)) == sum(o.samples_per_rank for o in orders)
        assert all(len(b) == 8 for o in orders for b in o.batches(epoch))
        seen.append(set(delivered))
    assert seen[0] != seen[1]


def test_drop_last_on_too_few_samples_gives_an_empty_epoch() -> None:
    orders = _ranks(np.ones(2), 1, drop_last=True)
    assert [len(o) for o in orders] == [0, 0, 0]
    assert _delivered(orders, 0) == []


def test_batch_size_one_needs_a_multiple_of_the_world_size() -> None:
    with pytest.raises(LoaderConfigError, match=r"durations: expected at least 6 samples .*got 4"):
        LengthBucketOrder(np.ones(4), 1, world_size=WORLD)
    orders = _ranks(np.ones(4), 1, drop_last=True, shuffle=True)
    assert [len(o) for o in orders] == [1, 1, 1]
    assert len(_delivered(orders, 0)) == 3


def test_padding_ratio_by_hand() -> None:
    durations = np.array([1.0, 2.0, 3.0, 4.0])
    # (2 * 2 - 3) + (2 * 4 - 7) = 2 padded seconds over 10 real ones
    assert padding_ratio(durations, [np.array([0, 1]), np.array([2, 3])]) == pytest.approx(0.2)
    assert padding_ratio(durations, [np.array([0, 3])]) == pytest.approx(3 / 5)
    assert padding_ratio(durations, []) == 0.0


def test_bucketing_pads_less_than_a_random_order() -> None:
    durations = _lognormal(2000)
    one = compare_padding(durations, 16, BucketingConfig(num_buckets=1))
    ten = compare_padding(durations, 16, BucketingConfig(num_buckets=10), world_size=WORLD)
    assert one.bucketed > 1.0 and one.unbucketed > 1.0  # a random batch is mostly padding
    assert ten.bucketed < one.bucketed / 4
    assert ten.bucketed < ten.unbucketed / 4


@settings(max_examples=60, deadline=None)
@given(
    durations=st.lists(st.floats(0.0, 60.0), min_size=1, max_size=80),
    batch_size=st.integers(1, 9),
    world=st.integers(1, 4),
    num_buckets=st.integers(1, 6),
    max_seconds=st.none() | st.floats(1.0, 100.0),
    drop_last=st.booleans(),
    epoch=st.integers(0, 3),
)
def test_properties(
    durations: list[float],
    batch_size: int,
    world: int,
    num_buckets: int,
    max_seconds: float | None,
    drop_last: bool,
    epoch: int,
) -> None:
    seconds = np.array(durations)
    config = BucketingConfig(num_buckets=num_buckets, max_seconds=max_seconds)
    kwargs = {"shuffle": True, "drop_last": drop_last, "config": config}
    # Refused exactly when a multiple of `world` batches cannot be formed from n samples.
    single = LengthBucketOrder(seconds, batch_size, config=config)  # one rank: no split
    if not drop_last and math.ceil(len(single) / world) * world > len(seconds):
        with pytest.raises(LoaderConfigError, match="durations: expected at least"):
            _ranks(seconds, batch_size, world, **kwargs)
        return
    orders = _ranks(seconds, batch_size, world, **kwargs)
    assert len({len(o) for o in orders}) == 1
    delivered = _delivered(orders, epoch)
    assert len(delivered) == len(set(delivered)) == sum(o.samples_per_rank for o in orders)
    if not drop_last:
        assert delivered == list(range(len(seconds)))
    for order in orders:
        for batch in order.batches(epoch):
            assert len(batch) > 0, "an empty batch"
            assert len(batch) <= batch_size, (len(batch), batch_size)
            if max_seconds is not None and len(batch) > 1:
                assert len(batch) * seconds[batch].max() <= max_seconds


@pytest.mark.parametrize(
    ("bad", "kind"),
    [
        ({"num_buckets": 0}, "greater_than_equal"),
        ({"num_buckets": 2.0}, "int_type"),
        ({"num_buckets": True}, "int_type"),
        ({"max_seconds": 0}, "greater_than"),
        ({"max_seconds": "5"}, "float_type"),
        ({"max_seconds": math.inf}, "finite_number"),
        ({"buckets": 3}, "extra_forbidden"),
    ],
)
def test_config_validation(bad: dict[str, object], kind: str) -> None:
    with pytest.raises(ValidationError) as caught:
        BucketingConfig.model_validate(bad)
    assert caught.value.errors()[0]["type"] == kind


def test_config_defaults_and_frozen() -> None:
    assert BucketingConfig() == BucketingConfig(num_buckets=10, max_seconds=None)
    with pytest.raises(ValidationError):
        BucketingConfig().num_buckets = 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"durations": [1.0, np.nan]}, r"durations\[1\]: expected finite seconds >= 0, got nan"),
        ({"durations": [1.0, -2.0]}, r"durations\[1\]: expected finite seconds >= 0, got -2.0"),
        ({"durations": [[1.0]]}, r"durations: expected a non-empty 1-D array .*got shape"),
        ({"durations": []}, r"durations: expected a non-empty 1-D array .*got shape \(0,\)"),
        ({"durations": ["a"]}, r"durations: expected a 1-D array of seconds, got list"),
        ({"batch_size": 0}, r"batch_size: expected an int >= 1, got 0"),
        ({"batch_size": 2.0}, r"batch_size: expected an int >= 1, got 2.0"),
        ({"rank": 3}, r"rank: expected an int >= 0 and < world_size=3, got 3"),
        ({"seed": -1}, r"seed: expected an int >= 0 and < 2\*\*63, got -1"),
        ({"shuffle": 1}, r"shuffle: expected True or False, got 1"),
        ({"config": {"num_buckets": 2}}, r"config: expected a BucketingConfig, got dict"),
        ({"durations": [1.0, 2.0]}, r"durations: expected at least world_size=3 samples .*got 2"),
    ],
)
def test_order_validation(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"durations": np.ones(10), "batch_size": 2, "world_size": 3}
    args.update(kwargs)
    with pytest.raises(LoaderConfigError, match=message):
        LengthBucketOrder(**args)


def test_epoch_validation_and_fingerprint() -> None:
    order = LengthBucketOrder(np.arange(1.0, 9.0), 2, shuffle=True)
    with pytest.raises(LoaderStateError, match="epoch: expected an int >= 0"):
        order.batches(-1)
    same = LengthBucketOrder(np.arange(1.0, 9.0), 2)
    other = LengthBucketOrder(np.arange(1.0, 9.0), 2, config=BucketingConfig(num_buckets=2))
    longer = LengthBucketOrder(np.arange(1.0, 9.0) * 2, 2)
    assert order.fingerprint == same.fingerprint
    assert len({order.fingerprint, other.fingerprint, longer.fingerprint}) == 3
