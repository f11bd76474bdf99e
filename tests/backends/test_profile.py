"""The profile's counters: per thread without locks, per epoch, over the last batches, spans."""

from __future__ import annotations

import pickle
import threading
import time

import pytest

from dali_pipelines.backends.profile import (
    BACKGROUND,
    CRITICAL,
    STAGES,
    Profile,
    StageTotals,
    Tally,
)


def test_stages_are_partitioned_into_critical_and_background() -> None:
    assert set(CRITICAL) | set(BACKGROUND) == set(STAGES)
    assert not set(CRITICAL) & set(BACKGROUND)


def test_threads_accumulate_separately_and_merge() -> None:
    profile = Profile()
    profile.start_epoch(0)

    def work() -> None:
        for _ in range(100):
            profile.add("read", 0.001, nbytes=10)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    profile.batch_done(8)
    snapshot = profile.end_epoch()
    assert snapshot is not None and profile.epochs[0] == snapshot
    read = snapshot.stages["read"]
    assert (read.count, read.bytes) == (400, 4000)
    assert read.seconds == pytest.approx(0.4)
    assert (snapshot.images, snapshot.batches) == (8, 1)
    assert snapshot.per_image_ms("read") == pytest.approx(50.0)
    assert snapshot.peak_rss > 0


def test_epoch_and_window_views_are_differences() -> None:
    profile = Profile(window=2)
    profile.add("draw", 5.0)  # before the epoch: not in it
    profile.start_epoch(3)
    for seconds in (1.0, 2.0, 3.0):
        profile.add("graph", seconds)
        profile.batch_done(4)
    recent = profile.recent()
    assert recent.batches == 2 and recent.images == 8
    assert recent.seconds("graph") == pytest.approx(5.0)  # the last two batches only
    current = profile.current_epoch()
    assert current is not None and current.seconds("graph") == pytest.approx(6.0)
    snapshot = profile.end_epoch()
    assert snapshot is not None
    assert snapshot.seconds("draw") == 0.0 and snapshot.seconds("graph") == pytest.approx(6.0)
    assert profile.current_epoch() is None and profile.end_epoch() is None


def test_span_times_the_block_and_detailed_mode_keeps_spans() -> None:
    cheap = Profile()
    with cheap.span("assemble"):
        time.sleep(0.01)
    assert cheap._totals()["assemble"].seconds >= 0.01 and not cheap.spans
    detailed = Profile(detailed=True)
    with detailed.span("contract", count=3):
        pass
    (span,) = detailed.spans
    assert span.stage == "contract" and span.thread == threading.current_thread().name
    assert detailed._totals()["contract"].count == 3


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window: expected >= 1, got 0"):
        Profile(window=0)


def test_record_counts_bytes_and_keeps_spans_when_detailed() -> None:
    cheap = Profile()
    cheap.record("read", 1.0, 1.5, nbytes=100)
    assert cheap._totals()["read"] == StageTotals(0.5, 1, 100) and not cheap.spans
    detailed = Profile(detailed=True)
    detailed.record("pack", 2.0, 2.25, count=4)
    (span,) = detailed.spans
    assert (span.stage, span.start, span.seconds) == ("pack", 2.0, 0.25)
    assert detailed._totals()["pack"].count == 4


def test_a_workers_tally_merges_with_its_cpu_time() -> None:
    tally = Tally()
    tally.record("read", 0.0, 0.5, nbytes=10)
    tally.add("read", 0.25, nbytes=5)
    tally.add("python", 1.0, count=8)
    tally.cpu_s = 2.0
    sent = pickle.loads(pickle.dumps(tally.sent()))  # what travels back from a worker
    profile = Profile()
    profile.start_epoch(0)
    profile.merge(sent)
    profile.batch_done(8)
    snapshot = profile.end_epoch()
    assert snapshot is not None
    assert snapshot.stages["read"] == StageTotals(0.75, 2, 15)
    assert snapshot.stages["python"] == StageTotals(1.0, 8, 0)
    assert snapshot.cpu_s >= 2.0 - 1e-9  # the workers' CPU, on top of this process's


def test_queue_depths_per_epoch() -> None:
    profile = Profile()
    profile.queue("read_ahead", 9)  # before the epoch: not in it
    profile.start_epoch(0)
    for depth in (1, 2, 3):
        profile.queue("read_ahead", depth)
    during = profile.current_epoch()
    assert during is not None and during.queues == {"read_ahead": (2.0, 3)}
    snapshot = profile.end_epoch()
    assert snapshot is not None and snapshot.queues["read_ahead"] == (2.0, 3)
    profile.start_epoch(1)
    snapshot = profile.end_epoch()
    assert snapshot is not None and snapshot.queues == {}


def test_range_opens_a_torch_profiler_range_only_when_detailed() -> None:
    import torch

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        with Profile().range("graph"):
            pass
        with Profile(detailed=True).range("assemble"):
            pass
    names = {event.name for event in prof.events()}
    assert "dali_pipelines.assemble" in names and "dali_pipelines.graph" not in names


def test_an_epoch_snapshot_knows_when_it_started() -> None:
    profile = Profile()
    before = time.perf_counter()
    profile.start_epoch(0)
    snapshot = profile.end_epoch()
    assert snapshot is not None
    assert before <= snapshot.start <= snapshot.start + snapshot.wall_s <= time.perf_counter()
