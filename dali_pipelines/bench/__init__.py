"""Benchmarks: time loaders on the same data, report images/s (samples/s and audio seconds/s
for an audio spec), compare against baselines.

Layers (each usable alone): :mod:`.runner` times iterables of batches; :mod:`.report` holds the
versioned report model and its JSON file; :mod:`.env` records the machine and dataset;
:mod:`.loaders` names the contenders (:mod:`.tvio` is the torchvision.io baseline);
:mod:`.train` is train mode's step and ideal; :mod:`.audio` opens an audio run's dataset and
records its batches' lengths; :mod:`.compare` runs points and sweeps;
:mod:`.render`, :mod:`.markdown` and :mod:`.plot` present a report. Nothing else in the package
imports this one.
"""

from __future__ import annotations

from .compare import parse_sweep, planned_epochs, run_bench
from .loaders import LOADERS, register_loader
from .report import (
    SCHEMA_VERSION,
    BenchConfig,
    BenchReport,
    DatasetInfo,
    EnvInfo,
    LoaderResult,
    read_report,
    write_report,
)
from .runner import EpochTiming, Observer, Subject, run_interleaved, time_epoch, touch_batch

__all__ = [
    "LOADERS",
    "SCHEMA_VERSION",
    "BenchConfig",
    "BenchReport",
    "DatasetInfo",
    "EnvInfo",
    "EpochTiming",
    "LoaderResult",
    "Observer",
    "Subject",
    "parse_sweep",
    "planned_epochs",
    "read_report",
    "register_loader",
    "run_bench",
    "run_interleaved",
    "time_epoch",
    "touch_batch",
    "write_report",
]
