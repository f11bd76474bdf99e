"""The execution core's conformance suite: every executor x every source kind, public API only.

An executor exists when it is a row of :data:`tests.backends.conformance_data.EXECUTORS` and
passes this suite: a new one (audio, prepared shards, another device) is added to that table,
not given tests of its own. Combinations refused by design (worker stages need the classic
sample) must raise a clear :class:`DaliPipelinesError` before anything runs.

For each combination, with ``shuffle=True``, a seed and a random spec (random_resized_crop,
horizontal_flip, color_jitter, normalize; the Python op after the crop where the executor has
one), 14 samples of 40-64 px in batches of 4 (the last batch holds 2):

a. bitwise identical batches across ``num_threads`` (1 vs 2) and across fresh loaders;
b. ``state_dict`` after the first, a middle and the last batch: a fresh loader resumed from it
   yields bitwise the rest of the uninterrupted 2-epoch run (after the last batch: the next epoch);
c. over 3 ranks, each epoch delivers every sample once plus ``DistributedSampler``'s wrap-around
   padding, with the same batch count on every rank;
d. with unreadable files and ``on_error="skip"``: delivered + skipped == samples due, 2 epochs;
e. ``check="every"`` raises nothing and ``loader.contract`` holds for every batch;
f. the loader's profile reports every stage the executor has (read with its bytes, probe, draw,
   graph, assemble, contract, step; pack for DALI, python where a Python stage runs).

One uninterrupted run per combination (module-scoped) serves a, b, e and f.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
import torch

# Worker stages fork their pool per loader, and each worker imports torchvision's v2 functionals
# on first use (~1-2 s a worker on 2 cores): imported here once, every fork inherits it.
import torchvision.transforms.v2  # noqa: F401
from torch.utils.data import Dataset, DistributedSampler

from dali_pipelines import DataLoader
from dali_pipelines.contracts import check_batch
from dali_pipelines.errors import DaliPipelinesError
from tests.backends.conformance_data import (
    BATCH,
    EXECUTORS,
    NUM_SAMPLES,
    SEED,
    SOURCES,
    WORLD,
    Executor,
    Source,
    bad_data,
    good_data,
    modality_of,
)

pytestmark = pytest.mark.integration

EPOCHS = 2
BATCHES = -(-NUM_SAMPLES // BATCH)  # per epoch, world size 1: 4 (4, 4, 4, 2)
#: Resume points in the 2-epoch run: after the first, a middle and the last batch of epoch 0.
RESUME_AT = {"first": 1, "middle": BATCHES // 2, "last": BATCHES}

#: Image executors over image sources, audio executors over audio sources.
COMBOS = [(e, s) for e in EXECUTORS for s in SOURCES if e.modality == modality_of(s)]
RUNS = [(e, s) for e, s in COMBOS if e.refusal(s) is None]
REFUSED = [(e, s) for e, s in COMBOS if e.refusal(s) is not None]


def _id(combo: tuple[Executor, str]) -> str:
    return f"{combo[0].name}-{combo[1]}"


# -- data -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Source]:
    return {
        kind: write(tmp_path_factory.mktemp(f"conf-{kind}"), good_data(kind), NUM_SAMPLES)
        for kind, write in SOURCES.items()
    }


@pytest.fixture(scope="module")
def bad_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Source]:
    return {
        kind: write(
            tmp_path_factory.mktemp(f"conf-bad-{kind}"),
            good_data(kind) + bad_data(kind),
            NUM_SAMPLES,
        )
        for kind, write in SOURCES.items()
    }


# -- running ----------------------------------------------------------------------------------


def _loader(executor: Executor, source: Source, **kwargs: Any) -> DataLoader:
    arguments: dict[str, Any] = {
        "batch_size": BATCH,
        "shuffle": True,
        "seed": SEED,
        "num_threads": 1,
        **executor.loader,
        **kwargs,
    }
    return DataLoader(source.open(), source.spec(executor), **arguments)


def _copy(batch: Any) -> tuple[Any, ...]:
    return tuple(
        [t.clone() for t in value] if isinstance(value, list) else value.clone() for value in batch
    )


def _epochs(loader: DataLoader, count: int) -> Iterator[tuple[Any, ...]]:
    for _ in range(count):
        for batch in loader:
            yield _copy(batch)


def _assert_same(expected: list[Any], got: list[Any], what: str) -> None:
    assert len(got) == len(expected), f"{what}: {len(got)} batches, expected {len(expected)}"
    for b, (want, have) in enumerate(zip(expected, got)):
        assert len(want) == len(have), f"{what}: batch {b} has {len(have)} outputs"
        for o, (x, y) in enumerate(zip(want, have)):
            assert x.dtype == y.dtype and x.shape == y.shape, (
                f"{what}: batch {b} output {o}: {y.dtype}{tuple(y.shape)}, "
                f"expected {x.dtype}{tuple(x.shape)}"
            )
            if not torch.equal(x, y):
                diff = (x.double() - y.double()).abs()
                raise AssertionError(
                    f"{what}: batch {b} output {o} differs: {int((diff > 0).sum())} of "
                    f"{diff.numel()} values, max abs diff {diff.max().item():.3g}"
                )


@dataclass
class Baseline:
    """The uninterrupted run: 2 epochs, 1 thread, ``check="every"``."""

    batches: list[tuple[Any, ...]]
    #: state_dict() taken after k batches of epoch 0, for each resume point k >= 2.
    states: dict[int, dict[str, Any]]
    contract: Any
    length: int
    #: The run's ``loader.profile``.
    profile: Any


@pytest.fixture(scope="module", params=RUNS, ids=[_id(c) for c in RUNS])
def combo(request: pytest.FixtureRequest, sources: dict[str, Source]) -> tuple[Executor, Source]:
    executor, kind = request.param
    return executor, sources[kind]


@pytest.fixture(scope="module")
def baseline(combo: tuple[Executor, Source]) -> Baseline:
    executor, source = combo
    states: dict[int, dict[str, Any]] = {}
    batches: list[tuple[Any, ...]] = []
    with _loader(executor, source, check="every") as loader:
        for batch in _epochs(loader, EPOCHS):
            batches.append(batch)
            if len(batches) in RESUME_AT.values() and len(batches) > 1:
                states[len(batches)] = loader.state_dict()
        return Baseline(batches, states, loader.contract, len(loader), loader.profile)


# -- a. determinism ---------------------------------------------------------------------------


def test_bitwise_across_threads_and_runs(
    combo: tuple[Executor, Source], baseline: Baseline
) -> None:
    """A fresh loader with 2 threads gives the 1-thread run's batches bit for bit (the resume
    test from the first batch replays it again with a fresh 1-thread loader)."""
    executor, source = combo
    assert baseline.length == BATCHES
    assert len(baseline.batches) == EPOCHS * BATCHES
    sizes = [len(source.identities(b)) for b in baseline.batches[:BATCHES]]
    assert sizes == [4, 4, 4, 2]
    with _loader(executor, source, num_threads=2) as loader:
        again = list(_epochs(loader, EPOCHS))
    _assert_same(baseline.batches, again, "num_threads=2 vs 1")
    # The augmentations are random: epochs differ, so the equality above is not vacuous.
    assert not torch.equal(baseline.batches[0][0], baseline.batches[BATCHES][0])


# -- b. resume --------------------------------------------------------------------------------


@pytest.mark.parametrize("point", list(RESUME_AT))
def test_resume_is_bitwise(combo: tuple[Executor, Source], baseline: Baseline, point: str) -> None:
    executor, source = combo
    k = RESUME_AT[point]
    if k == 1:  # a loop that breaks out after the first batch, then saves
        with _loader(executor, source) as first:
            head = [_copy(next(iter(first)))]
            state = first.state_dict()
        _assert_same(baseline.batches[:1], head, "fresh run, first batch")
    else:  # saved inside the uninterrupted loop
        state = baseline.states[k]
    expected_position = (0, k) if k < BATCHES else (1, 0)  # after the last batch: next epoch
    assert (state["epoch"], state["batch"]) == expected_position
    with _loader(executor, source) as resumed:
        resumed.load_state_dict(state)
        rest = list(_epochs(resumed, EPOCHS - expected_position[0]))
    _assert_same(baseline.batches[k:], rest, f"resumed after {k} batches")


# -- c. exactly once over 3 ranks -------------------------------------------------------------


def test_exactly_once_over_three_ranks(combo: tuple[Executor, Source]) -> None:
    executor, source = combo
    lengths = []
    delivered: list[Counter[int]] = [Counter() for _ in range(EPOCHS)]
    for rank in range(WORLD):
        with _loader(executor, source, rank=rank, world_size=WORLD, drop_last=False) as loader:
            lengths.append(len(loader))
            for epoch in range(EPOCHS):
                batches = [source.identities(b) for b in loader]
                assert len(batches) == len(loader), f"rank {rank}, epoch {epoch}"
                delivered[epoch].update(i for b in batches for i in b)
    assert len(set(lengths)) == 1, f"batches per rank: {lengths}"
    for epoch, counts in enumerate(delivered):
        # The documented padding: DistributedSampler's wrap-around repeats of this epoch.
        expected: Counter[int] = Counter()
        for rank in range(WORLD):
            indices = cast("Dataset[int]", range(source.size))
            sampler: DistributedSampler[int] = DistributedSampler(
                indices, WORLD, rank, shuffle=True, seed=SEED, drop_last=False
            )
            sampler.set_epoch(epoch)
            expected.update(sampler)
        assert set(counts) == set(range(source.size)), f"epoch {epoch}: {sorted(counts)}"
        assert counts.total() == -(-source.size // WORLD) * WORLD  # 14 -> 15: one repeat
        assert counts == expected, f"epoch {epoch}: delivered {counts}, expected {expected}"


# -- d. skip accounting -----------------------------------------------------------------------


def test_skip_accounting(combo: tuple[Executor, Source], bad_sources: dict[str, Source]) -> None:
    """3 unreadable files among 17 samples (batches 4, 4, 4, 4, 1), two epochs: the second
    lists the quarantined files again without decoding them."""
    executor, _ = combo
    source = bad_sources[combo[1].kind]
    with _loader(executor, source, on_error="skip") as loader:
        due = len(source.open())
        for epoch in range(EPOCHS):
            batches = [source.identities(b) for b in loader]
            delivered = [i for b in batches for i in b]
            skipped = loader.skipped.get(epoch, [])
            where = f"epoch {epoch}: batches {batches}, skipped {[p for p, _ in skipped]}"
            assert len(delivered) + len(skipped) == due, (
                f"{len(delivered)} delivered + {len(skipped)} skipped != {due} due; {where}"
            )
            assert len(batches) == len(loader), f"a skip shrank the batch count; {where}"
            assert sorted(delivered) == sorted(set(range(source.size)) - source.bad), where
            assert len(skipped) == len(source.bad), where


# -- e. contract ------------------------------------------------------------------------------


def test_contract_holds_for_every_batch(combo: tuple[Executor, Source], baseline: Baseline) -> None:
    """``check="every"`` raised nothing while the baseline ran; check again, every value."""
    contract = baseline.contract
    outputs = {
        "folder": 2,
        "manifest": 3,
        "webdataset": 2,
        "coco": 4,
        "prepared": 3,
        "prepared-raw": 3,
        # audio and its lengths, then the label (and the manifest's features)
        "audio-folder": 3,
        "audio-manifest": 4,
        "audio-webdataset": 3,
    }[combo[1].kind]
    assert len(contract.names) == outputs, contract.names
    for batch in baseline.batches:
        check_batch(batch, contract, values="full")


# -- f. profile ------------------------------------------------------------------------------


def test_every_stage_is_profiled(combo: tuple[Executor, Source], baseline: Baseline) -> None:
    """Epoch 0 of the baseline: every stage this executor has, with time and counts; the bytes
    read are the files' sizes (a DALI source may also read ahead into the next epoch)."""
    executor, source = combo
    epoch = baseline.profile.epochs[0]
    dali = executor.loader["backend"] == "dali"
    expected = ["read", "probe", "draw", "graph", "assemble", "contract", "step"]
    expected += ["pack"] if dali else []
    expected += ["python"] if executor.python_op else []
    for stage in expected:
        totals = epoch.stages[stage]
        assert totals.seconds > 0 and totals.count > 0, f"{stage}: {totals}"
    for stage in ("graph", "assemble", "contract", "step"):
        assert epoch.stages[stage].count == BATCHES, stage
    assert epoch.images == NUM_SAMPLES and epoch.batches == BATCHES
    assert epoch.cpu_s > 0 and epoch.peak_rss > 0
    read = epoch.stages["read"]
    sizes = [len(data) for data in good_data(source.kind)]
    assert read.count >= NUM_SAMPLES and epoch.stages["draw"].count >= NUM_SAMPLES
    if source.kind == "prepared-raw":  # stored as raw pixels: not the encoded files' bytes
        assert read.bytes > 0
    elif dali:
        extra = read.count - NUM_SAMPLES
        assert sum(sizes) <= read.bytes <= sum(sizes) + extra * max(sizes), read
    else:
        assert (read.count, read.bytes) == (NUM_SAMPLES, sum(sizes))
    if dali:
        assert "read_ahead" in epoch.queues
    if executor.name == "dali-worker-stages":
        assert epoch.queues["python_workers"][1] >= 1


# -- refused by design ------------------------------------------------------------------------


@pytest.mark.parametrize("refused", REFUSED, ids=[_id(c) for c in REFUSED])
def test_refused_combination_raises_a_clear_error(
    refused: tuple[Executor, str], sources: dict[str, Source]
) -> None:
    executor, kind = refused
    with pytest.raises(DaliPipelinesError, match=executor.refusal(kind)):
        _loader(executor, sources[kind])


def test_matrix_covers_every_executor_and_source() -> None:
    assert {e.name for e in EXECUTORS} == {
        "dali",
        "dali-inline-python",
        "dali-worker-stages",
        "reference-pil",
        "reference-tvio",
        "dali-audio",
        "reference-audio",
    }
    assert set(SOURCES) == {
        "folder",
        "manifest",
        "webdataset",
        "coco",
        "prepared",
        "prepared-raw",
        "audio-folder",
        "audio-manifest",
        "audio-webdataset",
    }
    # Every executor meets every source of its modality (5 x 6 image, 2 x 3 audio).
    assert len(RUNS) + len(REFUSED) == 5 * 6 + 2 * 3
