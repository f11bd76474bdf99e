"""The profile's figures: stage names, per-stage totals, spans, snapshots, and the tally a
worker process sends back with each item. :mod:`.profile` records into them."""

from __future__ import annotations

import os
import resource
import sys
from dataclasses import dataclass, field
from typing import Literal

Stage = Literal[
    "graph",
    "assemble",
    "transfer",
    "batch_ops",
    "contract",
    "step",
    "read",
    "probe",
    "draw",
    "pack",
    "python",
]
#: The consumer's thread: these partition an epoch's wall time.
CRITICAL: tuple[Stage, ...] = ("graph", "assemble", "transfer", "batch_ops", "contract", "step")
#: Other threads and processes: busy time, overlapping the critical path.
BACKGROUND: tuple[Stage, ...] = ("read", "probe", "draw", "pack", "python")
STAGES: tuple[Stage, ...] = CRITICAL + BACKGROUND


@dataclass
class StageTotals:
    """One stage's accumulated figures."""

    seconds: float = 0.0
    count: int = 0
    bytes: int = 0

    def add(self, other: StageTotals) -> None:
        self.seconds += other.seconds
        self.count += other.count
        self.bytes += other.bytes


@dataclass(frozen=True)
class Span:
    """One recorded stage (detailed mode): for a Chrome trace."""

    stage: Stage
    start: float  # perf_counter seconds
    seconds: float
    thread: str


@dataclass(frozen=True)
class ProfileSnapshot:
    """The figures of an epoch, of the last batches, or of everything so far."""

    stages: dict[Stage, StageTotals]
    images: int
    batches: int
    wall_s: float
    #: CPU seconds of the loader's process (every thread: DALI's, the feed's, the consumer's)
    #: and of its worker processes, over the same period.
    cpu_s: float
    #: Peak resident memory of the process so far, in bytes.
    peak_rss: int
    #: Per queue its depth, sampled where work enters it: (mean, max) over the period.
    queues: dict[str, tuple[float, int]] = field(default_factory=dict)
    #: ``perf_counter`` at the period's start (an epoch's spans start in [start, start + wall]).
    start: float = 0.0

    def seconds(self, stage: Stage) -> float:
        return self.stages[stage].seconds

    @property
    def critical_s(self) -> float:
        """The critical path's stages summed: close to ``wall_s`` (what is left is overhead)."""
        return sum(self.stages[s].seconds for s in CRITICAL)

    def per_image_ms(self, stage: Stage) -> float:
        return 1e3 * self.stages[stage].seconds / self.images if self.images else 0.0

    @property
    def cpu_ms_per_image(self) -> float:
        return 1e3 * self.cpu_s / self.images if self.images else 0.0

    @property
    def images_per_s(self) -> float:
        return self.images / self.wall_s if self.wall_s > 0 else 0.0


def _empty() -> dict[Stage, StageTotals]:
    return {stage: StageTotals() for stage in STAGES}


def peak_rss() -> int:
    """The process's peak resident set size in bytes (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _cpu_seconds() -> float:
    """CPU seconds of this process (every thread). Live worker processes report their own with
    each item (:meth:`Profile.merge`): ``os.times``' children figures count only reaped ones."""
    times = os.times()
    return times.user + times.system


class Tally:
    """Figures recorded away from a :class:`Profile`: in a worker process, for one item.

    ``figures`` (plain dicts, picklable) travel back with the item; :meth:`Profile.merge` adds
    them. ``cpu_s``: the worker's CPU seconds for the item (0 in the loader's own process,
    whose CPU time is counted as a whole)."""

    __slots__ = ("cpu_s", "figures")

    def __init__(self) -> None:
        self.figures: dict[Stage, list[float]] = {}
        self.cpu_s = 0.0

    def add(self, stage: Stage, seconds: float, *, count: int = 1, nbytes: int = 0) -> None:
        totals = self.figures.get(stage)
        if totals is None:
            self.figures[stage] = [seconds, count, nbytes]
        else:
            totals[0] += seconds
            totals[1] += count
            totals[2] += nbytes

    def record(
        self, stage: Stage, start: float, end: float, *, count: int = 1, nbytes: int = 0
    ) -> None:
        self.add(stage, end - start, count=count, nbytes=nbytes)

    def sent(self) -> tuple[dict[Stage, list[float]], float]:
        """What travels back with the item."""
        return self.figures, self.cpu_s
