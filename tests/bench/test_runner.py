"""The timing loop and the interleaving, with fake loaders: no DALI, barely any sleeping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from dali_pipelines.bench.runner import (
    EpochTiming,
    Observer,
    Subject,
    run_interleaved,
    time_epoch,
    touch_batch,
)


class FakeLoader:
    """Sized, with set_epoch, yielding (images, labels) like the real loader."""

    def __init__(self, n: int, batch_size: int, log: list[str] | None = None, name: str = ""):
        self.n, self.batch_size = n, batch_size
        self.epochs: list[int] = []
        self.log = log if log is not None else []
        self.name = name

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self.log.append(self.name)
        for start in range(0, self.n, self.batch_size):
            size = min(self.batch_size, self.n - start)
            yield torch.zeros(size, 3, 4, 4), torch.arange(size, dtype=torch.int64)


def test_time_epoch_counts_images_and_batches() -> None:
    seen: list[int] = []
    timing = time_epoch(FakeLoader(10, 4), on_batch=seen.append)
    assert (timing.images, timing.batches) == (10, 3)
    assert seen == [4, 4, 2]
    assert len(timing.batch_s) == 3 and all(s >= 0 for s in timing.batch_s)
    assert timing.seconds >= sum(timing.batch_s) > 0
    assert timing.images_per_s == pytest.approx(10 / timing.seconds)


def test_waits_exclude_the_touch() -> None:
    """A wait is the loader's part of a batch; the touch (a training step) is the loop's."""

    def slow_touch(batch: Any) -> int:
        time.sleep(0.01)
        return int(batch[0].shape[0])

    timing = time_epoch(FakeLoader(6, 2), touch=slow_touch)
    assert len(timing.wait_s) == len(timing.batch_s) == 3
    for wait, total in zip(timing.wait_s, timing.batch_s):
        assert wait >= 0 and total - wait >= 0.009


def test_empty_epoch_has_zero_rate() -> None:
    timing = time_epoch([])
    assert timing.images == 0 and timing.images_per_s == 0.0


@pytest.mark.parametrize(
    ("batch", "count"),
    [
        ((torch.ones(5, 2), torch.zeros(5)), 5),
        ({"images": np.ones((3, 2)), "labels": np.zeros(3)}, 3),
        ([torch.ones(0, 3)], 0),
        (torch.ones(7), 7),
    ],
)
def test_touch_batch_counts_the_first_dimension(batch: Any, count: int) -> None:
    assert touch_batch(batch) == count


def test_touch_batch_rejects_non_tensors() -> None:
    with pytest.raises(TypeError, match="batch: expected tensors"):
        touch_batch(["not", "a", "tensor"])


class Recorder(Observer):
    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []

    def epoch_started(self, subject: str, label: str, total_batches: int | None) -> None:
        self.events.append(("start", f"{subject} {label}", total_batches))

    def epoch_done(self, subject: str, label: str, timing: EpochTiming) -> None:
        self.events.append(("done", f"{subject} {label}", timing.images))

    def point_started(self, description: str) -> None:  # not called by run_interleaved
        self.events.append(("point", description, None))


def test_reps_are_interleaved_with_a_rotating_order() -> None:
    log: list[str] = []
    a, b = FakeLoader(8, 4, log, "a"), FakeLoader(6, 4, log, "b")
    recorder = Recorder()
    results = run_interleaved(
        [Subject("a", a), Subject("b", b)], reps=3, warmup=1, observer=recorder
    )
    assert log == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert [len(results["a"].warmup), len(results["a"].reps)] == [1, 3]
    assert [t.images for t in results["b"].reps] == [6, 6, 6]
    # Each round is one epoch for every subject: shuffled loaders see a fresh order per round.
    assert a.epochs == b.epochs == [0, 1, 2, 3]
    starts = [e for e in recorder.events if e[0] == "start"]
    assert starts[0] == ("start", "a warm-up", 2)
    assert starts[-1] == ("start", "b rep 3/3", 2)


def test_unsized_iterables_have_no_total() -> None:
    recorder = Recorder()
    gen_batches = [(torch.ones(2, 1),)] * 3
    run_interleaved([Subject("g", gen_batches)], reps=1, warmup=0, observer=recorder)
    assert recorder.events[0] == ("start", "g rep 1/1", 3)

    class Unsized:
        def __iter__(self) -> Iterator[Any]:
            return iter(gen_batches)

    recorder = Recorder()
    run_interleaved([Subject("u", Unsized())], reps=1, warmup=0, observer=recorder)
    assert recorder.events[0] == ("start", "u rep 1/1", None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"reps": 0}, "reps"), ({"reps": 1, "warmup": -1}, "warmup")],
)
def test_bad_counts(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_interleaved([Subject("a", [])], **kwargs)


def test_subject_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        run_interleaved([Subject("a", []), Subject("a", [])], reps=1)


def test_a_lead_in_per_timed_epoch_then_settle() -> None:
    """Each timed epoch follows an untimed one of the same subject (a loader flowing into its
    next epoch is timed in its steady state); settle runs after each subject's turn."""
    log: list[str] = []
    a, b = FakeLoader(8, 4, log, "a"), FakeLoader(6, 4, log, "b")
    settled: list[int] = []
    results = run_interleaved(
        [Subject("a", a), Subject("b", b)],
        reps=2,
        warmup=1,
        lead_in=True,
        settle=lambda: settled.append(len(log)),
    )
    assert log == ["a", "b", "a", "a", "b", "b", "b", "b", "a", "a"]
    assert settled == [1, 2, 4, 6, 8, 10]
    assert a.epochs == [0, 1, 2, 3, 4] and b.epochs == [0, 1, 2, 3, 4]
    assert [t.epoch for t in results["a"].reps] == [2, 4]
    assert [t.epoch for t in results["a"].lead_in] == [1, 3]
    assert len(results["b"].warmup) == 1 and results["b"].warmup[0].epoch == 0


def test_wait_for_idle_cpu_waits_out_a_busy_thread() -> None:
    import threading

    from dali_pipelines.bench.runner import wait_for_idle_cpu

    assert wait_for_idle_cpu(timeout=5.0) < 1.0  # idle now: one or a few polls
    stop = time.perf_counter() + 0.4

    def spin() -> None:
        while time.perf_counter() < stop:
            pass

    worker = threading.Thread(target=spin)
    worker.start()
    waited = wait_for_idle_cpu(timeout=5.0)
    worker.join()
    assert 0.3 <= waited < 5.0
