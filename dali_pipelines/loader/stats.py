"""How long the training loop waited on the loader: the stall statistic users read as
``loader.stats``.

A loader is fast enough when the loop never waits for it; images/s alone cannot say that, because
it mixes the loader's speed with the step's. A *wait* is the time between the loop asking for the
next batch and receiving it (``iter()`` included for the epoch's first batch). The benchmark
records exactly this per batch, and ``DataLoader`` can record the same around its
``next(runner)`` so the figure is available outside the benchmark.

Where the wait comes from is the loader's per-stage profile
(:class:`~dali_pipelines.backends.profile.Profile`, ``loader.profile``); :meth:`LoaderStats.stages`
reads it: the epoch in progress, else the last one finished.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..backends.profile import Profile, ProfileSnapshot

#: Waits kept for percentiles: a long run's memory stays flat (totals count every batch).
DEFAULT_WINDOW = 10_000


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation (numpy's default)."""
    if not values:
        return 0.0
    if not 0 <= q <= 100:
        raise ValueError(f"q: expected 0 <= q <= 100, got {q}")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class StallSummary:
    """Waits on the loader: count, total and per-batch statistics in milliseconds."""

    batches: int
    total_s: float
    mean_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    def fraction_of(self, seconds: float) -> float:
        """Share of ``seconds`` (e.g. the epochs' wall time) spent waiting on the loader."""
        return self.total_s / seconds if seconds > 0 else 0.0


class LoaderStats:
    """Accumulates per-batch waits; ``summary()`` reads them, ``reset()`` starts over."""

    def __init__(self, window: int = DEFAULT_WINDOW, profile: Profile | None = None):
        if window < 1:
            raise ValueError(f"window: expected >= 1, got {window}")
        #: The loader's per-stage profile (None: waits only).
        self.profile = profile
        self._recent: deque[float] = deque(maxlen=window)
        self._batches = 0
        self._total_s = 0.0
        self._max_s = 0.0

    def record_wait(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"seconds: expected >= 0, got {seconds}")
        self._recent.append(seconds)
        self._batches += 1
        self._total_s += seconds
        self._max_s = max(self._max_s, seconds)

    def reset(self) -> None:
        self._recent.clear()
        self._batches = 0
        self._total_s = 0.0
        self._max_s = 0.0

    def stages(self) -> ProfileSnapshot | None:
        """Per-stage figures of the epoch in progress, else of the last epoch profiled (None
        before any): seconds, counts and bytes per stage, images, wall and CPU time, peak RSS.
        """
        if self.profile is None:
            return None
        current = self.profile.current_epoch()
        if current is not None:
            return current
        epochs = self.profile.epochs
        return list(epochs.values())[-1] if epochs else None  # the last one closed

    @property
    def batches(self) -> int:
        return self._batches

    @property
    def total_wait_s(self) -> float:
        return self._total_s

    def summary(self) -> StallSummary:
        recent = list(self._recent)
        return StallSummary(
            batches=self._batches,
            total_s=self._total_s,
            mean_ms=1e3 * self._total_s / self._batches if self._batches else 0.0,
            p50_ms=1e3 * percentile(recent, 50),
            p99_ms=1e3 * percentile(recent, 99),
            max_ms=1e3 * self._max_s,
        )

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"LoaderStats(batches={s.batches}, wait mean {s.mean_ms:.2f} ms, "
            f"p50 {s.p50_ms:.2f} ms, p99 {s.p99_ms:.2f} ms, max {s.max_ms:.2f} ms)"
        )
