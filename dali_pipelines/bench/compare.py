"""Loader mode: the DALI loader against the torchvision reference on the same data and spec.

Loaders are looked up by name in :data:`LOADERS`, so another contender (a torchvision.io
baseline, a GPU variant) is one :func:`register_loader` call away, and shows up in the report's
``others``. Both loaders are built before timing and kept alive across reps: persistent workers
and a built DALI pipeline are what a training job has after its first epoch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..data import ImageFolder
from ..spec import PipelineSpec, load_spec
from .env import collect_env, dataset_info
from .report import BenchConfig, BenchReport, LoaderResult, loader_result, speedup
from .runner import Observer, Subject, run_interleaved

#: Builds a loader (anything iterable over batches, ideally with len/set_epoch/close).
LoaderFactory = Callable[[ImageFolder, PipelineSpec, BenchConfig], Any]


@dataclass(frozen=True)
class LoaderChoice:
    name: str
    backend: str  # what the report records as the backend
    build: LoaderFactory


LOADERS: dict[str, LoaderChoice] = {}


def register_loader(name: str, backend: str) -> Callable[[LoaderFactory], LoaderFactory]:
    """Decorator: make a loader factory available to the benchmark under ``name``."""

    def wrap(factory: LoaderFactory) -> LoaderFactory:
        if name in LOADERS:
            raise ValueError(f"bench loader {name!r} is already registered")
        LOADERS[name] = LoaderChoice(name, backend, factory)
        return factory

    return wrap


def _dataloader(backend: str) -> LoaderFactory:
    def build(dataset: ImageFolder, spec: PipelineSpec, config: BenchConfig) -> Any:
        from ..loader import DataLoader

        # Same threads for DALI as workers for the reference (which uses persistent workers):
        # equal CPU budgets, as a user switching loaders would configure them.
        return DataLoader(
            dataset,
            spec,
            batch_size=config.batch_size,
            shuffle=config.shuffle,
            drop_last=config.drop_last,
            seed=config.seed,
            num_threads=config.threads,
            device=config.device,  # type: ignore[arg-type]
            backend=backend,  # type: ignore[arg-type]
        )

    return build


register_loader("dali", "dali")(_dataloader("dali"))
register_loader("reference", "reference")(_dataloader("reference"))

DALI_LOADER = "dali"
BASELINE_LOADER = "reference"


def run_loader_bench(
    root: str | os.PathLike[str],
    config: BenchConfig,
    *,
    others: Sequence[str] = (),
    observer: Observer | None = None,
) -> BenchReport:
    """Measure DALI, the baseline and ``others`` (names in :data:`LOADERS`) on ``root``."""
    spec = load_spec(config.spec)
    dataset = ImageFolder(root)
    names = [DALI_LOADER, BASELINE_LOADER, *others]
    unknown = [n for n in names if n not in LOADERS]
    if unknown:
        raise ValueError(f"bench loaders: expected names in {sorted(LOADERS)}, got {unknown}")
    loaders: dict[str, Any] = {}
    build_s: dict[str, float] = {}
    try:
        for name in names:
            start = time.perf_counter()
            loaders[name] = LOADERS[name].build(dataset, spec, config)
            build_s[name] = time.perf_counter() - start
        timings = run_interleaved(
            [Subject(name, loaders[name]) for name in names],
            reps=config.reps,
            warmup=config.warmup,
            observer=observer,
        )
    finally:
        for loader in loaders.values():
            close = getattr(loader, "close", None)
            if callable(close):
                close()

    def result(name: str) -> LoaderResult:
        choice = LOADERS[name]
        return loader_result(name, choice.backend, config.threads, timings[name], build_s[name])

    dali, baseline = result(DALI_LOADER), result(BASELINE_LOADER)
    return BenchReport(
        config=config,
        spec_name=spec.name,
        spec_fingerprint=spec.fingerprint,
        dali=dali,
        baseline=baseline,
        speedup=speedup(dali, baseline),
        others={name: result(name) for name in others},
        env=collect_env(dataset_info(dataset)),
    )
