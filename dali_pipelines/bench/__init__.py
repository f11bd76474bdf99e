"""Benchmarks: time loaders on the same data, report images/s, compare against a baseline.

Layers (each usable alone): :mod:`.runner` times iterables of batches; :mod:`.report` holds the
versioned report model and its JSON file; :mod:`.env` records the machine and dataset;
:mod:`.compare` builds the loaders of the loader mode; :mod:`.render` draws progress and tables.
Nothing else in the package imports this one.
"""

from __future__ import annotations

from .compare import LOADERS, register_loader, run_loader_bench
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
    "read_report",
    "register_loader",
    "run_interleaved",
    "run_loader_bench",
    "time_epoch",
    "touch_batch",
    "write_report",
]
