"""``dali-pipelines tune``: a short, bounded probe of the loader's settings on the user's data.

1. **Probe**: the default point (the most threads, DALI's default depth) is built and run for
   one epoch; its build and epoch times price every other point.
2. **Grid**: candidate points (threads x prefetch depth x batch size x Python placement) in
   priority order (the default point, then one setting changed, threads first, ...), each
   priced at ``reps`` lead-in + timed epochs; points are added while :data:`SAFETY` of the
   budget holds, the final round reserved. A round's points are measured together with
   :func:`run_interleaved` so drift hits all alike; CPU use (this process and its workers) is
   read around each timed epoch. Each round's epochs re-price the next round.
3. **Final**: the best two points within the CPU budget are re-measured against each other;
   their epochs join the grid's, and the better median is recommended.

Timing reuses :mod:`.runner`; nothing here prints (the CLI renders :class:`TuneResult`).
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from .._model import FrozenModel
from ..errors import DaliPipelinesError
from ..loader.autotune import cpu_seconds, usable_cores
from ..spec import PipelineSpec, load_spec
from .audio import open_dataset
from .env import load_average
from .runner import EpochTiming, Observer, Subject, run_interleaved, time_epoch, wait_for_idle_cpu
from .tune_grid import Estimate, grid, plan, point_name

log = logging.getLogger(__name__)

#: Reps of the final round (the best against the runner-up), added to their grid reps.
FINAL_REPS = 1
#: Share of the budget planned: epochs vary with the machine's load.
SAFETY = 0.9
#: Points measured whatever the budget: a recommendation needs a runner-up.
MIN_POINTS = 2


class TuneConfig(FrozenModel):
    """What ``tune`` measures and within which bounds."""

    data: Path = Field(description="an ImageFolder (an AudioFolder for an audio spec)")
    spec: str = Field("imagenet_train", description="a strategy name or a spec file")
    budget: float = Field(60.0, gt=0, description="seconds the probe may take, builds included")
    out: Path = Field(Path("tuned.yaml"), description="the tuned YAML to write")
    cpu_budget: float = Field(
        1.0, gt=0, le=1, description="share of the usable cores' CPU time a recommendation may use"
    )
    device: str = Field("cpu", description="where the pipeline runs")
    threads: tuple[int, ...] = Field((), description="DALI threads to try (default: 1 .. cores)")
    prefetch: tuple[int, ...] = Field((2, 3, 4), description="prefetch depths to try")
    batch_sizes: tuple[int, ...] = Field((64, 128), description="batch sizes to try")
    reps: int = Field(2, ge=1, description="timed epochs per point (each after a lead-in)")
    seed: int = Field(0, ge=0, description="order and augmentation seed")
    full: bool = Field(False, description="measure every grid point, whatever the budget")


class Point(FrozenModel):
    """One candidate configuration and what was measured for it."""

    name: str
    settings: dict[str, Any]
    images_per_s: float = 0.0
    images_per_s_q1: float = 0.0
    images_per_s_q3: float = 0.0
    cpu_share: float = 0.0
    reps: int = 0
    #: Every timed epoch's images/s and CPU share (the figures above are their medians).
    rates: list[float] = []
    shares: list[float] = []

    def merged(self, other: Point) -> Point:
        """This point with ``other``'s epochs of the same settings added."""
        return summarize(
            self.name, self.settings, self.rates + other.rates, self.shares + other.shares
        )


def summarize(
    name: str, settings: dict[str, Any], rates: list[float], shares: list[float]
) -> Point:
    """A point from its timed epochs: medians, quartiles of images/s."""
    ordered = sorted(rates)
    q1, _median, q3 = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else ordered * 3
    return Point(
        name=name,
        settings=settings,
        images_per_s=statistics.median(ordered),
        images_per_s_q1=q1,
        images_per_s_q3=q3,
        cpu_share=statistics.median(shares) if shares else 0.0,
        reps=len(ordered),
        rates=list(rates),
        shares=list(shares),
    )


class TuneResult(FrozenModel):
    points: list[Point]
    recommended: Point
    runner_up: Point | None
    cpu_budget: float
    cores: int
    budget_s: float
    elapsed_s: float
    planned: int
    grid: int
    spec_name: str
    spec_fingerprint: str
    data_fingerprint: str
    load_before: list[float] | None
    load_after: list[float] | None
    notes: list[str] = []
    #: Per finalist's last epoch, ms per image of each stage of the loader's profile: the
    #: critical path (partitioning wall time) and, as "<point>: background", other threads'.
    stages: dict[str, dict[str, float]] = {}


class _CpuObserver(Observer):
    """CPU seconds and wall seconds of every timed epoch, per subject."""

    def __init__(self) -> None:
        self.epochs: dict[str, list[tuple[float, float]]] = {}
        self._start: tuple[float, float] = (0.0, 0.0)

    def epoch_started(self, subject: str, label: str, total_batches: int | None) -> None:
        self._start = (cpu_seconds(), time.perf_counter())

    def epoch_done(self, subject: str, label: str, timing: EpochTiming) -> None:
        if label.startswith("rep"):
            cpu, wall = self._start
            used = (cpu_seconds() - cpu, time.perf_counter() - wall)
            self.epochs.setdefault(subject, []).append(used)


def _measure(
    loaders: dict[str, Any], settings: dict[str, dict[str, Any]], reps: int, cores: int
) -> list[Point]:
    """The loaders interleaved (lead-in before each timed epoch, an idle CPU between turns)."""
    observer = _CpuObserver()
    subjects = [Subject(name, loader) for name, loader in loaders.items()]
    timings = run_interleaved(
        subjects, reps=reps, warmup=0, lead_in=True, settle=wait_for_idle_cpu, observer=observer
    )
    return [
        summarize(
            name,
            settings[name],
            [t.images_per_s for t in timings[name].reps],
            [cpu / (wall * cores) for cpu, wall in observer.epochs.get(name, [])],
        )
        for name in loaders
    ]


class _Session:
    """The loaders of one tuning run: measured in rounds, the two best kept for the final."""

    def __init__(self, config: TuneConfig, build: Callable[..., Any], cores: int):
        self.config, self.build, self.cores = config, build, cores
        self.loaders: dict[str, Any] = {}
        self.settings: dict[str, dict[str, Any]] = {}
        self.points: list[Point] = []

    def probe(self, first: dict[str, Any]) -> float:
        """One epoch of the first point (its pipeline built): seconds."""
        name = point_name(first)
        self.loaders[name], self.settings[name] = self.build(**first), first
        return time_epoch(self.loaders[name]).seconds

    def measure(self, chosen: list[dict[str, Any]]) -> list[Point]:
        """A round: the chosen points interleaved; then only the two best stay open."""
        names = [point_name(c) for c in chosen]
        for name, values in zip(names, chosen):
            self.settings[name] = values
            if name not in self.loaders:
                self.loaders[name] = self.build(**values)
        measuring = {name: self.loaders[name] for name in names}
        points = _measure(measuring, self.settings, self.config.reps, self.cores)
        self.points += points
        keep = {p.name for p in _ranked(self.points, self.config.cpu_budget, strict=False)[:2]}
        for name in set(self.loaders) - keep:  # free threads and buffers
            _close(self.loaders.pop(name))
        return points

    def final(self) -> list[Point]:
        """The two best re-measured against each other; their epochs added to the grid's."""
        ranked = _ranked(self.points, self.config.cpu_budget)[:2]
        finalists = {p.name: self.loaders[p.name] for p in ranked}
        again = _measure(finalists, self.settings, FINAL_REPS, self.cores)
        return sorted((p.merged(a) for p, a in zip(ranked, again)), key=lambda p: -p.images_per_s)

    def stages(self) -> dict[str, dict[str, float]]:
        """The open loaders' last profiled epoch, ms per image by stage."""
        from ..backends.profile import CRITICAL

        out: dict[str, dict[str, float]] = {}
        for name, loader in self.loaders.items():
            epochs = getattr(getattr(loader, "profile", None), "epochs", None)
            if not epochs:
                continue
            snapshot = epochs[max(epochs)]
            for stage in snapshot.stages:
                ms = snapshot.per_image_ms(stage)
                key = name if stage in CRITICAL else f"{name}: background"
                if ms > 0:
                    out.setdefault(key, {})[stage] = ms
        return out

    def close(self) -> None:
        for loader in self.loaders.values():
            _close(loader)
        self.loaders.clear()


def tune(
    config: TuneConfig,
    make_loader: Callable[..., Any] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> TuneResult:
    """Probe, measure the grid within ``config.budget`` and recommend (see the module's doc)."""
    started, load_before = time.perf_counter(), load_average()
    phase = on_phase or (lambda text: log.info("tune: %s", text))
    spec = load_spec(config.spec)
    dataset = open_dataset(config.data, spec)
    cores = usable_cores()
    candidates = grid(config, spec, cores)
    session = _Session(config, make_loader or _default_loader(dataset, spec, config), cores)
    try:
        phase(f"probe: {point_name(candidates[0])}, one epoch")
        most = max(c["num_threads"] for c in candidates)
        estimate = Estimate(session.probe(candidates[0]), most, len(dataset))
        remaining = list(candidates)
        while remaining:
            final_s = 2 * FINAL_REPS * 2 * estimate.epoch_s(most)
            spent = time.perf_counter() - started
            left = SAFETY * config.budget - spent - final_s
            least = 0 if session.points else MIN_POINTS
            chosen = plan(remaining, config, left, estimate, least)
            if not chosen:
                break
            phase(f"grid: {len(chosen)} more of {len(candidates)} points, {config.reps} reps")
            remaining = [c for c in remaining if c not in chosen]
            estimate.add(session.measure(chosen))
        phase(f"final: the best two, {FINAL_REPS} more reps each")
        final = session.final()
        stages = session.stages()
    finally:
        session.close()
    return TuneResult(
        points=session.points,
        recommended=final[0],
        runner_up=final[1] if len(final) > 1 else None,
        cpu_budget=config.cpu_budget,
        cores=cores,
        budget_s=config.budget,
        elapsed_s=time.perf_counter() - started,
        planned=len(session.points),
        grid=len(candidates),
        spec_name=spec.name or str(config.spec),
        spec_fingerprint=spec.fingerprint,
        data_fingerprint=str(dataset.fingerprint()),
        load_before=load_before,
        load_after=load_average(),
        notes=_notes(config),
        stages=stages,
    )


def _ranked(points: Sequence[Point], cpu_budget: float, strict: bool = True) -> list[Point]:
    """Points within the CPU budget, fastest first; none within it is an error (``strict``)
    or, while measuring, the least CPU-hungry first."""
    within = [p for p in points if p.cpu_share <= cpu_budget]
    if not within and not strict:
        return sorted(points, key=lambda p: p.cpu_share)
    if not within:
        least = min(points, key=lambda p: p.cpu_share)
        raise DaliPipelinesError(
            f"cpu_budget: expected a point using at most {cpu_budget:.2f} of the cores, got "
            f"{least.cpu_share:.2f} at the least ({least.name})"
        )
    return sorted(within, key=lambda p: -p.images_per_s)


def _notes(config: TuneConfig) -> list[str]:
    if config.device.startswith("gpu"):
        return ["hw_decoder_load: not tuned (the loader has no such option yet)"]
    return []


def _default_loader(dataset: Any, spec: PipelineSpec, config: TuneConfig) -> Callable[..., Any]:
    def build(**settings: Any) -> Any:
        from ..loader import DataLoader

        return DataLoader(
            dataset,
            spec,
            shuffle=True,
            seed=config.seed,
            device=config.device,
            backend="dali",
            **settings,
        )

    return build


def _close(loader: Any) -> None:
    close = getattr(loader, "close", None)
    if callable(close):
        close()


def tuned_settings(result: TuneResult) -> tuple[dict[str, Any], dict[str, Any]]:
    """(settings, measured) as :func:`~dali_pipelines.loader.tuning.write_tuned` takes them."""
    best, other = result.recommended, result.runner_up
    measured: dict[str, Any] = {
        "images_per_s": round(best.images_per_s, 1),
        "cpu_share": round(best.cpu_share, 3),
        "cpu_budget": result.cpu_budget,
        "cores": result.cores,
        "spec": result.spec_name,
        "spec_fingerprint": result.spec_fingerprint,
        "data_fingerprint": result.data_fingerprint,
        "points": f"{result.planned} of {result.grid}",
        "seconds": round(result.elapsed_s, 1),
        "load_average": result.load_before,
    }
    if other is not None:
        measured["runner_up"] = {
            "name": other.name,
            "images_per_s": round(other.images_per_s, 1),
            "cpu_share": round(other.cpu_share, 3),
        }
    if result.notes:
        measured["notes"] = list(result.notes)
    return dict(best.settings), measured
