"""Where a loader's time goes: per-stage counters every executor records into, per epoch and
over the last batches.

A loader is a pipeline whose stages run on several threads at once (a read-ahead thread reads,
checks and draws; DALI's threads decode; the main thread assembles and hands out), so stage
times do not add up to wall time in general. The profile therefore keeps two views:

* the **critical path**: what the consumer's thread did during an epoch. Its stages partition
  the epoch's wall time: ``graph`` (blocked on the executor for the next batch: DALI's outputs,
  the reference's workers), ``assemble`` (outputs -> tensors), ``transfer`` (pinning, device
  copy), ``batch_ops`` (MixUp/CutMix), ``contract`` (the batch check), and ``step``: the
  consumer's own time between batches (its training step). ``wait`` is the loader's share,
  what the consumer waited for a batch (``stats.summary()``'s figure);
* the **background**: busy seconds of the other threads' stages, with counts and bytes:
  ``read`` (source bytes; files and bytes per second), ``probe`` (header guards), ``draw`` (the
  seed policy's parameters), ``pack`` (argument arrays for DALI), ``python`` (Python stages,
  inline or in workers).

Recording is cheap by default: a stage adds a ``perf_counter`` difference to a per-thread
accumulator (no lock on the hot path). ``detailed=True`` also keeps every span for a Chrome
trace and opens ``torch.profiler.record_function`` ranges (NVTX ranges on CUDA), so a user's
own profiler shows the loader's stages.

Stages that run in other processes (the reference executor's torch workers, the hybrid
executor's Python workers) record into a :class:`Tally` sent back with each item; the parent
adds it with :meth:`Profile.merge`, the workers' CPU seconds included. Queue depths (batches
read ahead of DALI, batches in the Python workers) are sampled with :meth:`Profile.queue`.

DALI's own per-operator statistics do not help here: DALI 2.4's ``executor_statistics()``
reports memory only, and nothing at all with the dynamic executor the loader runs (checked on
CPU). ``graph`` is therefore the consumer's wait for DALI's outputs.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from .stages import (
    BACKGROUND,
    CRITICAL,
    STAGES,
    ProfileSnapshot,
    Span,
    Stage,
    StageTotals,
    Tally,
    _cpu_seconds,
    _empty,
    peak_rss,
)

#: Batches kept for the "last N batches" view.
DEFAULT_WINDOW = 100
#: Spans kept for a trace (detailed mode): the oldest are dropped beyond it.
MAX_SPANS = 1_000_000


@dataclass
class _Mark:
    """The counters at a boundary (an epoch's start), to take differences from."""

    stages: dict[Stage, StageTotals]
    images: int
    batches: int
    wall: float
    cpu: float
    #: Per queue (sum of sampled depths, samples).
    queues: dict[str, tuple[int, int]] = field(default_factory=dict)


class Profile:
    """Per-stage counters of one loader. Thread-safe: each thread accumulates on its own."""

    def __init__(self, *, detailed: bool = False, window: int = DEFAULT_WINDOW):
        if window < 1:
            raise ValueError(f"window: expected >= 1, got {window}")
        self.detailed = detailed
        self._local = threading.local()
        self._threads: list[dict[Stage, StageTotals]] = []
        self._lock = threading.Lock()
        self._images = 0
        self._batches = 0
        self._recent: deque[tuple[dict[Stage, StageTotals], int, float]] = deque(maxlen=window)
        self._last_batch: _Mark | None = None
        self._epoch_mark: _Mark | None = None
        self.epochs: dict[int, ProfileSnapshot] = {}
        self._epoch: int | None = None
        self.spans: deque[Span] = deque(maxlen=MAX_SPANS)
        #: CPU seconds live worker processes reported (:meth:`merge`).
        self._worker_cpu = 0.0
        #: Per queue: [sum of sampled depths, samples, max since the epoch's start].
        self._queues: dict[str, list[int]] = {}

    # -- recording (any thread) ---------------------------------------------------------------
    def _mine(self) -> dict[Stage, StageTotals]:
        mine: dict[Stage, StageTotals] | None = getattr(self._local, "totals", None)
        if mine is None:
            mine = _empty()
            self._local.totals = mine
            with self._lock:
                self._threads.append(mine)
        return mine

    def add(self, stage: Stage, seconds: float, *, count: int = 1, nbytes: int = 0) -> None:
        """Record ``seconds`` of ``stage`` (``count`` items, ``nbytes`` bytes)."""
        totals = self._mine()[stage]
        totals.seconds += seconds
        totals.count += count
        totals.bytes += nbytes

    def record(
        self, stage: Stage, start: float, end: float, *, count: int = 1, nbytes: int = 0
    ) -> None:
        """Record a stage timed by the caller (``perf_counter`` at ``start`` and ``end``): the
        hot paths' form (no context manager); detailed mode keeps it as a span too."""
        totals = self._mine()[stage]
        totals.seconds += end - start
        totals.count += count
        totals.bytes += nbytes
        if self.detailed:
            self.spans.append(Span(stage, start, end - start, threading.current_thread().name))

    def merge(self, sent: tuple[dict[Stage, list[float]], float]) -> None:
        """Add a worker's :meth:`Tally.sent` figures (on the thread that received them)."""
        figures, cpu_s = sent
        mine = self._mine()
        for stage, (seconds, count, nbytes) in figures.items():
            totals = mine[stage]
            totals.seconds += seconds
            totals.count += int(count)
            totals.bytes += int(nbytes)
        if cpu_s:
            with self._lock:
                self._worker_cpu += cpu_s

    def queue(self, name: str, depth: int) -> None:
        """Sample the depth of queue ``name`` (batches waiting in it) as work enters it."""
        with self._lock:
            figures = self._queues.get(name)
            if figures is None:
                figures = self._queues[name] = [0, 0, 0]
            figures[0] += depth
            figures[1] += 1
            figures[2] = max(figures[2], depth)

    def range(self, stage: Stage) -> contextlib.AbstractContextManager[None]:
        """A ``torch.profiler`` range (and NVTX on CUDA) named ``dali_pipelines.<stage>`` in
        detailed mode; nothing otherwise. Pair it with :meth:`record`, which does the counting."""
        return _record_function(stage) if self.detailed else contextlib.nullcontext()

    @contextlib.contextmanager
    def span(self, stage: Stage, *, count: int = 1, nbytes: int = 0) -> Iterator[None]:
        """Time the ``with`` block as ``stage``; in detailed mode also a trace span and a
        ``torch.profiler`` range named ``dali_pipelines.<stage>``."""
        if not self.detailed:
            start = time.perf_counter()
            try:
                yield
            finally:
                self.add(stage, time.perf_counter() - start, count=count, nbytes=nbytes)
            return
        with _record_function(stage):
            start = time.perf_counter()
            try:
                yield
            finally:
                seconds = time.perf_counter() - start
                self.add(stage, seconds, count=count, nbytes=nbytes)
                self.spans.append(Span(stage, start, seconds, threading.current_thread().name))

    # -- boundaries (the consumer's thread) ---------------------------------------------------
    def _totals(self) -> dict[Stage, StageTotals]:
        merged = _empty()
        with self._lock:
            for thread in self._threads:
                for stage, totals in thread.items():
                    merged[stage].add(totals)
        return merged

    def _mark(self) -> _Mark:
        now = time.perf_counter()
        with self._lock:
            queues = {name: (f[0], f[1]) for name, f in self._queues.items()}
            cpu = _cpu_seconds() + self._worker_cpu
        return _Mark(self._totals(), self._images, self._batches, now, cpu, queues)

    def start_epoch(self, epoch: int) -> None:
        with self._lock:  # an epoch's maximum depth is its own
            for figures in self._queues.values():
                figures[2] = 0
        self._epoch, self._epoch_mark = epoch, self._mark()
        self._last_batch = self._epoch_mark

    def batch_done(self, images: int) -> None:
        """A batch was handed out: count it and roll the last-batches window."""
        self._images += images
        self._batches += 1
        now = self._mark()
        if self._last_batch is not None:
            delta = _minus(now.stages, self._last_batch.stages)
            self._recent.append((delta, images, now.wall - self._last_batch.wall))
        self._last_batch = now

    def end_epoch(self) -> ProfileSnapshot | None:
        """Close the epoch started last; its snapshot (also kept in ``epochs``)."""
        if self._epoch is None or self._epoch_mark is None:
            return None
        snapshot = self._since(self._epoch_mark)
        self.epochs[self._epoch] = snapshot
        self._epoch, self._epoch_mark = None, None
        return snapshot

    def _since(self, mark: _Mark) -> ProfileSnapshot:
        now = self._mark()
        return ProfileSnapshot(
            stages=_minus(now.stages, mark.stages),
            images=now.images - mark.images,
            batches=now.batches - mark.batches,
            wall_s=now.wall - mark.wall,
            cpu_s=now.cpu - mark.cpu,
            peak_rss=peak_rss(),
            queues=self._queue_view(now, mark),
            start=mark.wall,
        )

    def _queue_view(self, now: _Mark, mark: _Mark) -> dict[str, tuple[float, int]]:
        out: dict[str, tuple[float, int]] = {}
        with self._lock:
            for name, (total, samples) in now.queues.items():
                before = mark.queues.get(name, (0, 0))
                n = samples - before[1]
                kept = self._queues.get(name)
                if n > 0 and kept is not None:
                    out[name] = ((total - before[0]) / n, kept[2])
        return out

    # -- reading ------------------------------------------------------------------------------
    def current_epoch(self) -> ProfileSnapshot | None:
        """The epoch in progress so far (``None`` outside an epoch)."""
        return None if self._epoch_mark is None else self._since(self._epoch_mark)

    def recent(self) -> ProfileSnapshot:
        """The last ``window`` batches (CPU time is not split per batch: 0 here)."""
        stages = _empty()
        images = 0
        wall = 0.0
        for delta, count, seconds in self._recent:
            for stage, totals in delta.items():
                stages[stage].add(totals)
            images += count
            wall += seconds
        return ProfileSnapshot(stages, images, len(self._recent), wall, 0.0, peak_rss())

    def reset(self) -> None:
        with self._lock:
            for thread in self._threads:
                for totals in thread.values():
                    totals.seconds, totals.count, totals.bytes = 0.0, 0, 0
            self._queues.clear()
            self._worker_cpu = 0.0
        self._recent.clear()
        self.epochs.clear()
        self.spans.clear()


def _minus(
    now: dict[Stage, StageTotals], before: dict[Stage, StageTotals]
) -> dict[Stage, StageTotals]:
    return {
        stage: StageTotals(
            now[stage].seconds - before[stage].seconds,
            now[stage].count - before[stage].count,
            now[stage].bytes - before[stage].bytes,
        )
        for stage in STAGES
    }


@contextlib.contextmanager
def _record_function(stage: Stage) -> Iterator[None]:
    """A ``torch.profiler`` range (an NVTX range too when CUDA profiling is on)."""
    import torch

    with torch.profiler.record_function(f"dali_pipelines.{stage}"):
        if torch.cuda.is_available():
            torch.cuda.nvtx.range_push(f"dali_pipelines.{stage}")
            try:
                yield
            finally:
                torch.cuda.nvtx.range_pop()
        else:
            yield


#: The figures' names stay importable from here (the profile's public face).
__all__ = [
    "BACKGROUND",
    "CRITICAL",
    "DEFAULT_WINDOW",
    "STAGES",
    "Profile",
    "ProfileSnapshot",
    "Span",
    "Stage",
    "StageTotals",
    "Tally",
    "peak_rss",
]
