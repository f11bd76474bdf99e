"""Simulated scale: 8 in-process ranks over 10^6 virtual samples, 2 epochs, resumed at 6 ranks.

Indices only, no files: each rank is the loader's own order (:class:`EpochOrder`) driven by the
loader's own epoch bookkeeping (:class:`EpochRun`), saving and validating states with the
loader's ``make_state``/``check_state``. Epoch 0 stops after 48 batches of 1,000 on each of
the 8 ranks (384,000 samples, step 64 of a 6-rank run); 6 ranks resume from rank 0's state.
"""

from __future__ import annotations

import numpy as np
import pytest

from dali_pipelines.loader.order import EpochOrder
from dali_pipelines.loader.state import EpochRun, Position, check_state, make_state

N = 10**6
BATCH = 1000
SEED = 2024
WORLD, NEW_WORLD = 8, 6
SAVE_AT = 48


def _order(rank: int, world: int, algorithm: str) -> EpochOrder:
    return EpochOrder(N, BATCH, True, False, SEED, rank, world, shuffle_algorithm=algorithm)  # type: ignore[arg-type]


def _setup(order: EpochOrder) -> dict[str, object]:
    return {
        "seed": SEED,
        "spec": "virtual",
        "dataset_size": N,
        "world_size": order.world_size,
        "batch_size": order.batch_size,
        "shuffle": True,
        "drop_last": False,
        "order": order.fingerprint,
    }


def _count(counts: np.ndarray, batches: list[np.ndarray]) -> None:
    for batch in batches:
        counts += np.bincount(batch, minlength=N).astype(np.int32)


@pytest.mark.parametrize("algorithm", ["feistel", "randperm"])
def test_eight_ranks_resumed_at_six_deliver_every_sample_once(algorithm: str) -> None:
    counts = [np.zeros(N, dtype=np.int32) for _ in range(2)]
    states = []
    for rank in range(WORLD):
        order = _order(rank, WORLD, algorithm)
        run = EpochRun(order, Position(0))
        assert len(run.batches) == N // (BATCH * WORLD)  # 125 batches of 1,000 a rank
        _count(counts[0], run.batches[:SAVE_AT])
        position = run.position(SAVE_AT)
        assert position is not None
        states.append(make_state(position, _setup(order)))
    assert all(state == states[0] for state in states)
    consumed = SAVE_AT * BATCH * WORLD
    assert states[0]["samples"] == consumed
    step = consumed // (BATCH * NEW_WORLD)
    for rank in range(NEW_WORLD):
        order = _order(rank, NEW_WORLD, algorithm)
        start = check_state(states[0], _setup(order), order)
        rest = EpochRun(order, start)
        assert rest.base == step
        fresh = order.batches(0)  # an uninterrupted 6-rank run, from the same position on
        assert len(rest.batches) == len(fresh) - step
        assert all(np.array_equal(a, b) for a, b in zip(rest.batches, fresh[step:]))
        _count(counts[0], rest.batches)
        _count(counts[1], EpochRun(order, Position(1)).batches)
    left = N - consumed
    padding = -(-left // NEW_WORLD) * NEW_WORLD - left  # 616,000 over 6 ranks: 2 repeats
    for epoch, repeats in ((0, padding), (1, -(-N // NEW_WORLD) * NEW_WORLD - N)):
        assert counts[epoch].min() == 1, f"epoch {epoch}: a sample was lost"
        assert int((counts[epoch] - 1).sum()) == repeats, f"epoch {epoch}: duplicates"
        assert counts[epoch].max() <= 2
