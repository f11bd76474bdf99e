"""``autotune=True``: between batches, adjust what changes no data, from the stall and CPU use.

Every ``window`` batches the tuner reads how long the loop waited for them (the *stall*, as a
share of the window's wall time) and the CPU time this process and its Python-stage workers
used (as a share of the usable cores). It then changes at most one knob:

* CPU over ``cpu_budget``: fewer active Python workers (hybrid), else a shorter read-ahead;
* the loop stalls (over :data:`STALL_HIGH` of the time) with CPU headroom: more active Python
  workers (up to the pool's size), a deeper hand-off to them, else a longer read-ahead (the
  batch source preparing batches ahead of DALI, up to :data:`MAX_READ_AHEAD`).

None of these change a batch: samples are prepared and augmented from (seed, epoch, index)
wherever and whenever they run, and results come back in order. DALI's own
``prefetch_queue_depth`` is fixed when its pipeline is built and is left alone (rebuilding it
mid-run would cost more than it could win; ``dali-pipelines tune`` measures it instead).
Each change is logged at INFO with the figures that caused it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Batches between two decisions.
DEFAULT_WINDOW = 8
#: Stall share above which the loader is the bottleneck.
STALL_HIGH = 0.05
#: CPU share of the budget below which there is headroom to add work.
HEADROOM = 0.9
#: Longest read-ahead the tuner sets (batches prepared ahead of DALI's requests).
MAX_READ_AHEAD = 8
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _children_cpu() -> float:
    """CPU seconds of this process's live children (Python-stage workers), from /proc."""
    total = 0
    for children in Path("/proc/self/task").glob("*/children"):
        try:
            pids = children.read_text().split()
        except OSError:
            continue
        for pid in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat.rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def cpu_seconds() -> float:
    """CPU time of this process (every thread, DALI's included) and its live children."""
    return time.process_time() + _children_cpu()


@dataclass(frozen=True)
class Window:
    """What the tuner saw over its last batches."""

    batches: int
    wait_s: float
    wall_s: float
    cpu_s: float
    cores: int

    @property
    def stall(self) -> float:
        return self.wait_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def cpu_share(self) -> float:
        return self.cpu_s / (self.wall_s * self.cores) if self.wall_s > 0 else 0.0


@dataclass
class Knobs:
    """The current values of what may change; None where the executor has no such knob."""

    read_ahead: int
    in_flight: int | None = None
    workers: int | None = None
    max_workers: int | None = None


def decide(window: Window, knobs: Knobs, budget: float) -> tuple[str, int, str] | None:
    """(knob, new value, reason) or None: at most one change per window."""
    share, stall = window.cpu_share, window.stall
    if share > budget:
        why = f"CPU {share:.2f} of the cores > budget {budget:.2f}"
        if knobs.workers is not None and knobs.workers > 1:
            return "workers", knobs.workers - 1, why
        if knobs.read_ahead > 1:
            return "read_ahead", knobs.read_ahead - 1, why
        return None
    if stall <= STALL_HIGH or share >= budget * HEADROOM:
        return None
    why = f"stall {stall:.2f} of the time, CPU {share:.2f} of the cores (budget {budget:.2f})"
    if knobs.workers is not None and knobs.max_workers and knobs.workers < knobs.max_workers:
        return "workers", knobs.workers + 1, why
    if knobs.in_flight is not None and knobs.workers and knobs.in_flight < 2 * knobs.workers:
        return "in_flight", knobs.in_flight + 1, why
    if knobs.read_ahead < MAX_READ_AHEAD:
        return "read_ahead", knobs.read_ahead + 1, why
    return None


class LiveKnobs:
    """The knobs of a runner's executor: the batch source's read-ahead and, for the hybrid
    executor, its active Python workers and the batches handed to them at once."""

    def __init__(self, executor: Any):
        segment = getattr(executor, "segment", None)
        self._source = getattr(segment if segment is not None else executor, "source", None)
        pool: Any = getattr(executor, "pool", None)
        workers = int(pool.workers) if pool is not None else 0
        self._hybrid: Any = executor if workers > 0 else None
        self._max_workers = workers if workers > 0 else None

    @property
    def usable(self) -> bool:
        return self._source is not None

    def read(self) -> Knobs:
        hybrid: Any = self._hybrid
        return Knobs(
            read_ahead=int(self._source.depth) if self._source is not None else 0,
            in_flight=int(hybrid.depth) if hybrid is not None else None,
            workers=int(hybrid.pool.workers) if hybrid is not None else None,
            max_workers=self._max_workers,
        )

    def set(self, knob: str, value: int) -> None:
        if knob == "read_ahead" and self._source is not None:
            self._source.depth = value
        elif knob == "in_flight" and self._hybrid is not None:
            self._hybrid.depth = value
        elif knob == "workers" and self._hybrid is not None:
            # Fewer chunks per batch over the same pool: the other processes idle.
            self._hybrid.pool.workers = value


class AutoTuner:
    """Wraps a loader's epochs; every ``window`` batches maybe changes one knob."""

    def __init__(self, cpu_budget: float, window: int = DEFAULT_WINDOW):
        self.cpu_budget = cpu_budget
        self.window = window
        self.cores = usable_cores()
        #: Every change made: (knob, old, new, reason).
        self.changes: list[tuple[str, int, int, str]] = []

    def wrap(self, batches: Iterator[Any], runner: Any) -> Iterator[Any]:
        """``batches`` unchanged, timed; ``runner()`` gives the loader's runner once started."""
        knobs: LiveKnobs | None = None
        wait = 0.0
        count = 0
        start, cpu = time.perf_counter(), cpu_seconds()
        try:
            while True:
                asked = time.perf_counter()
                try:
                    batch = next(batches)
                except StopIteration:
                    return
                wait += time.perf_counter() - asked
                count += 1
                if count >= self.window:
                    now, used = time.perf_counter(), cpu_seconds()
                    if knobs is None and runner() is not None:
                        knobs = LiveKnobs(runner().executor)
                    window = Window(count, wait, now - start, used - cpu, self.cores)
                    if knobs is not None and knobs.usable:
                        self._step(window, knobs)
                    wait, count, start, cpu = 0.0, 0, now, used
                yield batch
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    def _step(self, window: Window, knobs: LiveKnobs) -> None:
        current = knobs.read()
        change = decide(window, current, self.cpu_budget)
        if change is None:
            return
        knob, value, reason = change
        old = getattr(current, knob)
        knobs.set(knob, value)
        self.changes.append((knob, old, value, reason))
        log.info(
            "autotune: %s %d -> %d (%s; over the last %d batches)",
            knob,
            old,
            value,
            reason,
            window.batches,
        )
