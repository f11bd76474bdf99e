"""Elastic resume: a state saved at world size W resumes at W' (and at another batch size).

Through the loader (DALI, 31 images, a random spec, shuffle on): exactly once over the old and
new ranks, bitwise equal to an uninterrupted W' run from the same global position, that epoch
and the next. The conformance suite (part g) runs the same over every executor on 14 samples.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import torch

from dali_pipelines import DataLoader
from dali_pipelines.errors import LoaderStateError
from dali_pipelines.loader import state as state_module
from dali_pipelines.loader.bucketing import LengthBucketOrder
from dali_pipelines.loader.order import EpochOrder
from dali_pipelines.loader.state import Position, check_state, make_state
from tests.backends.conformance_data import Source, good_images, write_image_folder

N = 31
SPEC = {
    "ops": [
        {"op": "random_resized_crop", "size": [24, 24]},
        {"op": "horizontal_flip"},
        {"op": "normalize", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
    ]
}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    return write_image_folder(tmp_path_factory.mktemp("elastic"), good_images(N), N)


def _loader(source: Source, rank: int, world: int, **kwargs: Any) -> DataLoader:
    args: dict[str, Any] = dict(batch_size=2, shuffle=True, seed=11, num_threads=1)
    args.update(backend="dali", device="cpu", rank=rank, world_size=world)
    return DataLoader(source.open(), SPEC, **(args | kwargs))


def _copy(batch: Any) -> tuple[torch.Tensor, ...]:
    return tuple(t.clone() for t in batch)


def _save_after(source: Source, world: int, k: int, **kwargs: Any) -> tuple[dict, Counter[int]]:
    """Every rank of a W run delivers k batches of epoch 0; rank 0's state and what was seen."""
    seen: Counter[int] = Counter()
    states = []
    for rank in range(world):
        with _loader(source, rank, world, **kwargs) as loader:
            for _, batch in zip(range(k), loader):
                seen.update(source.identities(batch))
            states.append(loader.state_dict())
    assert all(state == states[0] for state in states)
    return states[0], seen


def _same(expected: list[tuple[torch.Tensor, ...]], got: list[tuple[torch.Tensor, ...]]) -> None:
    assert len(got) == len(expected)
    for want, have in zip(expected, got):
        assert all(torch.equal(x, y) for x, y in zip(want, have))


@pytest.mark.parametrize(("world", "new_world", "k"), [(4, 3, 3), (2, 5, 5)])
def test_elastic_resume_is_exactly_once_and_bitwise(
    source: Source, world: int, new_world: int, k: int
) -> None:
    state, seen = _save_after(source, world, k)
    consumed = 2 * k * world  # a step of the W' run too: 24 = 4 x (2 x 3), 20 = 2 x (2 x 5)
    assert (state["batch"], state["samples"], state["world_size"]) == (k, consumed, world)
    for rank in range(new_world):
        with _loader(source, rank, new_world) as resumed:
            resumed.load_state_dict(state)
            rest = [_copy(b) for b in resumed]
            after = [_copy(b) for b in resumed]
        with _loader(source, rank, new_world) as fresh:
            whole = [_copy(b) for b in fresh]
            fresh_after = [_copy(b) for b in fresh]
        _same(whole[consumed // (2 * new_world) :], rest)
        _same(fresh_after, after)
        seen.update(i for b in rest for i in source.identities(b))
    padded = -(-(N - consumed) // new_world) * new_world
    assert set(seen) == set(range(N)) and seen.total() == consumed + padded


def test_a_position_between_steps_splits_the_rest_as_the_order_says(source: Source) -> None:
    """16 samples consumed at W=4 is no step of a W'=3 run (6 samples a step): the rest is the
    epoch's positions 16.. split over the 3 ranks, padded by wrap-around; saving and resuming
    again at W'=3 mid-way continues it exactly."""
    state, seen = _save_after(source, 4, 2)
    assert state["samples"] == 16
    for rank in range(3):
        expected = EpochOrder(N, 2, True, False, 11, rank, 3).batches(0, 16)
        with _loader(source, rank, 3) as first:
            first.load_state_dict(state)
            head = [source.identities(b) for _, b in zip(range(2), first)]
            again = first.state_dict()
        assert (again["batch"], again["samples"]) == (16 // 6 + 2, 16 + 2 * 6)
        with _loader(source, rank, 3) as second:
            second.load_state_dict(again)
            tail = [source.identities(b) for b in second]
        assert head + tail == [b.tolist() for b in expected]
        seen.update(i for b in head + tail for i in b)
    assert set(seen) == set(range(N)) and seen.total() == 16 + 15  # 15 left, 3 ranks: no padding


def test_the_batch_size_may_change_with_the_world_size(source: Source) -> None:
    """The global batch kept: 2 ranks x 2 -> 1 rank x 4, the rest of the epoch exactly once."""
    state, seen = _save_after(source, 2, 3)
    with _loader(source, 0, 1, batch_size=4) as resumed:
        resumed.load_state_dict(state)
        rest = [source.identities(b) for b in resumed]
    assert [len(b) for b in rest] == [4] * 4 + [3]  # 19 left
    seen.update(i for b in rest for i in b)
    assert sorted(seen.elements()) == list(range(N))


def test_a_version_1_state_resumes_at_its_batch(source: Source) -> None:
    with _loader(source, 0, 1) as first:
        batches = iter(first)
        for _, _batch in zip(range(3), batches):
            pass
        state = first.state_dict()
        rest = [_copy(b) for b in batches]
    old = {key: value for key, value in state.items() if key != "samples"} | {"version": 1}
    with _loader(source, 0, 1) as resumed:
        resumed.load_state_dict(old)
        _same(rest, [_copy(b) for b in resumed])


def test_what_cannot_be_reconciled_still_raises(source: Source) -> None:
    state, _ = _save_after(source, 2, 1)
    with (
        _loader(source, 0, 3, seed=12) as other_seed,
        pytest.raises(LoaderStateError, match=r"^state\.seed: expected 12 \(this loader\), got 11"),
    ):
        other_seed.load_state_dict(state)
    with (
        _loader(source, 0, 3, drop_last=True) as dropping,
        pytest.raises(LoaderStateError, match=r"^state\.drop_last: expected True"),
    ):
        dropping.load_state_dict(state)


def test_a_bucketed_order_resumes_at_its_own_shape_only() -> None:
    durations = [1.0 + (i % 7) for i in range(40)]
    saved = LengthBucketOrder(durations, 4, True, False, 3, 0, 2)
    state = make_state(Position(0, 2, saved.consumed(0, 0, 0, 2)), _bucket_setup(saved))
    assert state["samples"] == 16  # two steps of two full batches of 4
    same = LengthBucketOrder(durations, 4, True, False, 3, 1, 2)
    assert check_state(state, _bucket_setup(same), same) == Position(0, 2, 16)
    wider = LengthBucketOrder(durations, 4, True, False, 3, 0, 4)
    with pytest.raises(LoaderStateError, match=r"^state\.world_size: expected 4 \(this loader; a"):
        check_state(state, _bucket_setup(wider), wider)


def _bucket_setup(order: LengthBucketOrder) -> dict[str, Any]:
    return {
        "seed": 3,
        "spec": "s",
        "dataset_size": 40,
        "world_size": order.world_size,
        "batch_size": order.batch_size,
        "shuffle": True,
        "drop_last": False,
        "order": order.fingerprint,
    }


@pytest.mark.parametrize("backend", ["dali", "reference"])
@pytest.mark.parametrize("shuffle", [True, False])
def test_windows_of_a_lazy_order_change_no_batch(
    source: Source, backend: str, shuffle: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Feistel (or unshuffled) epoch runs in windows of WINDOW_SAMPLES: windows of 5 samples
    (2 batches) give bitwise the batches of one window, over 2 epochs and a resume."""
    args: dict[str, Any] = dict(shuffle=shuffle, shuffle_algorithm="feistel", backend=backend)

    def two_epochs(loader: DataLoader) -> list[tuple[torch.Tensor, ...]]:
        return [_copy(b) for _ in range(2) for b in loader]

    with _loader(source, 1, 2, **args) as whole:
        expected = two_epochs(whole)
        state = whole.state_dict()
    monkeypatch.setattr(state_module, "WINDOW_SAMPLES", 5)
    with _loader(source, 1, 2, **args) as windowed:
        _same(expected, two_epochs(windowed))
    with _loader(source, 1, 2, **args) as first:
        batches = iter(first)
        head = [_copy(b) for _, b in zip(range(3), batches)]
        resumed_state = first.state_dict()
    with _loader(source, 1, 2, **args) as resumed:
        resumed.load_state_dict(resumed_state)
        _same(expected, head + two_epochs(resumed))
    assert state["epoch"] == 2
