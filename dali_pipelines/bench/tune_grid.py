"""The grid ``tune`` measures: candidate points in priority order, and their planning within
the budget from the epochs measured so far."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..plan import make_plan
from ..plan.placement import place
from ..spec import PipelineSpec

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .tune import Point, TuneConfig


def default_threads(cores: int) -> tuple[int, ...]:
    """1, 2, 4, ... up to the usable cores, and the cores themselves."""
    doubling = [2**k for k in range(int(math.log2(cores)) + 1)]
    return tuple(sorted(set(doubling) | {cores}))


def grid(config: TuneConfig, spec: PipelineSpec, cores: int) -> list[dict[str, Any]]:
    """Every candidate, in priority order: the default point first, then points differing in
    fewer settings from it, more threads before fewer."""
    threads = sorted(config.threads or default_threads(cores), reverse=True)
    placements: list[str] = ["auto"]
    plan = make_plan(spec)
    device = "gpu" if config.device.startswith("gpu") else "cpu"
    if place(plan, device, "workers").mode == "workers":  # Python stages: inline or workers
        placements = ["inline", "workers"]
    prefetch = sorted(config.prefetch, key=lambda d: (d != 3, d))
    points = [
        {
            "num_threads": t,
            "prefetch_queue_depth": d,
            "batch_size": b,
            "python_placement": p,
        }
        for t, d, b, p in itertools.product(threads, prefetch, config.batch_sizes, placements)
    ]
    first = points[0]

    def priority(point: dict[str, Any]) -> tuple[int, bool]:  # threads matter most
        return sum(point[k] != first[k] for k in first), point["num_threads"] == threads[0]

    return sorted(points, key=priority)


def point_name(settings: dict[str, Any]) -> str:
    name = (
        f"t{settings['num_threads']}-p{settings['prefetch_queue_depth']}-b{settings['batch_size']}"
    )
    placement = settings["python_placement"]
    return name if placement == "auto" else f"{name}-{placement}"


class Estimate:
    """Seconds an epoch takes at a thread count: the median measured at that count, else the
    probe's epoch slowed in proportion to fewer threads (pessimistic: perfect scaling)."""

    def __init__(self, probe_s: float, most: int, images: int):
        self.probe_s, self.most, self.images = probe_s, most, images
        self.seen: dict[int, list[float]] = {}

    def epoch_s(self, threads: int) -> float:
        seen = self.seen.get(threads)
        return statistics.median(seen) if seen else self.probe_s * self.most / threads

    def add(self, points: Sequence[Point]) -> None:
        for p in points:
            if p.images_per_s > 0:
                threads = int(p.settings["num_threads"])
                self.seen.setdefault(threads, []).append(self.images / p.images_per_s)


def plan(
    candidates: list[dict[str, Any]],
    config: TuneConfig,
    left_s: float,
    estimate: Estimate,
    least: int = 0,
) -> list[dict[str, Any]]:
    """The candidates, in priority order, whose lead-in and timed epochs fit ``left_s``
    (at least ``least`` of them)."""
    if config.full:
        return candidates
    chosen: list[dict[str, Any]] = []
    for candidate in candidates:
        cost = config.reps * (2 * estimate.epoch_s(candidate["num_threads"]) + 0.2)
        if left_s < cost and len(chosen) >= least:
            continue
        chosen.append(candidate)
        left_s -= cost
    return chosen
