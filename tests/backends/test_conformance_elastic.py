"""The conformance suite, part g: elastic resume, over every executor (public API only).

A state saved mid-epoch at world size ``W`` resumes at ``W'``: the epoch's samples left are
delivered exactly once over the new ranks (plus the usual wrap-around padding), and each new
rank's batches are bitwise those of an uninterrupted ``W'`` run from the same global position,
that epoch and the next. Batch size 1 over the 14 samples of the suite, so the saved position
(``k * W`` samples) is a step of the ``W'`` run too: 4 -> 3 after 3 batches (12 samples
consumed, the ``W'`` run's step 4), 2 -> 5 after 5 batches (10 samples, step 2).

One source per modality and one case per executor, the two cases alternating down the table
(the order is the loader's, not the source's or the executor's: part c runs every source over 3
ranks, tests/loader/test_elastic.py both cases on larger epochs); a new executor row in
``EXECUTORS`` runs here too. The epoch after the resumed one is compared on new rank 0.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.backends.conformance_data import (
    EXECUTORS,
    NUM_SAMPLES,
    SOURCES,
    Executor,
    Source,
    good_data,
)
from tests.backends.test_conformance import _assert_same, _copy, _loader

pytestmark = pytest.mark.integration

#: (world size saved at, world size resumed at, batches per rank before the save).
CASES = {"4-to-3": (4, 3, 3), "2-to-5": (2, 5, 5)}
KIND = {"image": "folder", "audio": "audio-folder"}


@pytest.fixture(scope="module")
def elastic_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Source]:
    return {
        kind: SOURCES[kind](
            tmp_path_factory.mktemp(f"elastic-{kind}"), good_data(kind), NUM_SAMPLES
        )
        for kind in KIND.values()
    }


def _rank(executor: Executor, source: Source, rank: int, world: int) -> Any:
    return _loader(executor, source, batch_size=1, rank=rank, world_size=world)


#: Each executor with one case, alternating.
RUNS = [(e, list(CASES)[i % len(CASES)]) for i, e in enumerate(EXECUTORS)]


@pytest.mark.parametrize(("executor", "case"), RUNS, ids=[f"{e.name}-{c}" for e, c in RUNS])
def test_elastic_resume(executor: Executor, case: str, elastic_sources: dict[str, Source]) -> None:
    source = elastic_sources[KIND[executor.modality]]
    world, new_world, k = CASES[case]
    delivered: Counter[int] = Counter()
    states = []
    for rank in range(world):  # every rank runs k batches of epoch 0, then saves
        with _rank(executor, source, rank, world) as loader:
            for _, batch in zip(range(k), loader):
                delivered.update(source.identities(batch))
            states.append(loader.state_dict())
    assert all(s == states[0] for s in states), "the state is global: every rank saves the same"
    consumed = k * world
    assert (states[0]["epoch"], states[0]["batch"], states[0]["samples"]) == (0, k, consumed)
    step = consumed // new_world
    for rank in range(new_world):
        with _rank(executor, source, rank, new_world) as resumed:
            resumed.load_state_dict(states[0])
            rest = [_copy(b) for b in resumed]
            following = [_copy(b) for b in resumed] if rank == 0 else []
        with _rank(executor, source, rank, new_world) as fresh:
            whole = [_copy(b) for b in fresh]
            fresh_next = [_copy(b) for b in fresh] if rank == 0 else []
        where = f"{case}, new rank {rank}"
        _assert_same(whole[step:], rest, f"{where}: the rest of epoch 0")
        _assert_same(fresh_next, following, f"{where}: epoch 1")
        delivered.update(i for b in rest for i in source.identities(b))
    left = NUM_SAMPLES - consumed
    padded = -(-left // new_world) * new_world
    assert set(delivered) == set(range(NUM_SAMPLES)), sorted(delivered)
    assert delivered.total() == consumed + padded  # the padding's repeats only
