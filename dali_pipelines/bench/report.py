"""The benchmark report: pydantic models, summary statistics, and the versioned JSON file.

The JSON is a contract with whoever reads it later (docs, plots, CI comparisons): fields are only
added, never renamed or re-typed, without bumping ``SCHEMA_VERSION``. Unknown keys are ignored on
read so a newer writer's report still loads in an older reader.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .runner import EpochTiming, SubjectTimings

SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LoaderResult(_Model):
    """One loader's measurements. ``images_per_s`` is the median over the timed reps."""

    name: str
    backend: str
    workers: int = Field(description="DALI threads, or torch DataLoader workers")
    images_per_s: float
    images_per_s_reps: list[float]
    epoch_s: list[float]
    images_per_epoch: int
    batches_per_epoch: int
    build_s: float = Field(description="constructing the loader (no data read)")
    warmup_s: list[float] = Field(description="untimed first epochs: pipeline build, worker start")


class DatasetInfo(_Model):
    root: str
    images: int
    classes: int
    total_bytes: int
    mean_bytes: float
    mean_width: float
    mean_height: float


class EnvInfo(_Model):
    cpu_model: str
    cpu_cores: int = Field(description="logical CPUs of the machine")
    cpu_usable: int = Field(description="CPUs this process may run on (affinity)")
    platform: str
    python: str
    torch: str
    torchvision: str
    dali: str
    pillow: str
    numpy: str
    dali_pipelines: str
    cuda_available: bool
    gpu: str | None = None
    dataset: DatasetInfo


class BenchConfig(_Model):
    """What was asked for; enough to rerun the same measurement."""

    mode: Literal["loader"] = "loader"
    spec: str = Field(description="strategy name or spec file as given")
    batch_size: int
    threads: int
    reps: int
    warmup: int
    seed: int
    device: str
    shuffle: bool = True
    drop_last: bool = False


class BenchReport(_Model):
    schema_version: int = SCHEMA_VERSION
    tool: Literal["dali-pipelines bench"] = "dali-pipelines bench"
    created: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    config: BenchConfig
    spec_name: str | None
    spec_fingerprint: str
    dali: LoaderResult
    baseline: LoaderResult
    speedup: float = Field(description="dali.images_per_s / baseline.images_per_s")
    #: Loaders measured besides the two above (more baselines, other backends), by name.
    others: dict[str, LoaderResult] = Field(default_factory=dict)
    env: EnvInfo


def loader_result(
    name: str,
    backend: str,
    workers: int,
    timings: SubjectTimings,
    build_s: float,
) -> LoaderResult:
    """Summarise a subject's epochs; the median resists one disturbed rep."""
    reps: Sequence[EpochTiming] = timings.reps
    if not reps:
        raise ValueError(f"{name}: expected at least one timed rep, got none")
    rates = [t.images_per_s for t in reps]
    return LoaderResult(
        name=name,
        backend=backend,
        workers=workers,
        images_per_s=statistics.median(rates),
        images_per_s_reps=rates,
        epoch_s=[t.seconds for t in reps],
        images_per_epoch=reps[0].images,
        batches_per_epoch=reps[0].batches,
        build_s=build_s,
        warmup_s=[t.seconds for t in timings.warmup],
    )


def speedup(dali: LoaderResult, baseline: LoaderResult) -> float:
    return dali.images_per_s / baseline.images_per_s if baseline.images_per_s > 0 else 0.0


def write_report(report: BenchReport, path: str | os.PathLike[str]) -> Path:
    """Write the report as indented JSON, atomically (a reader never sees half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(report.model_dump_json(indent=2))
            fh.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_report(path: str | os.PathLike[str]) -> BenchReport:
    """Load a report; refuses another schema version rather than misreading it."""
    report = BenchReport.model_validate_json(Path(path).read_text(encoding="utf-8"))
    if report.schema_version != SCHEMA_VERSION:
        raise ValueError(
            f"{path}: schema_version: expected {SCHEMA_VERSION}, got {report.schema_version}"
        )
    return report
