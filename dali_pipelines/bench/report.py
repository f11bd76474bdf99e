"""The benchmark report: pydantic models, summary statistics, and the versioned JSON file.

The JSON is a contract with whoever reads it later (docs, plots, CI comparisons): fields are only
added, never renamed or re-typed, without bumping ``SCHEMA_VERSION``. Unknown keys are ignored on
read so a newer writer's report still loads in an older reader.

Version history: 1 (loader mode, ``others``); 2: ``mode`` may be ``train`` (then images/s are
training-step images/s), ``others`` is replaced by ``loaders`` (every loader, headline ones
included) and ``speedups``; IQRs, batch latencies, loader waits, ``ideal`` and ``sweep`` added.
Added within 2: audio runs (``modality: "audio"``: ``images_*`` fields count samples, a clip or a
window each; ``audio`` on the report, on each loader and on the dataset), ``notes``,
``config.bucketing`` and ``config.lead_in``; the four corners (``config.corners``,
``config.prepared``, ``config.max_side``, ``prepared``: loaders named ``<loader>@prepared`` ran
on the prepared copy). An image report reads exactly as before.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..loader.stats import LoaderStats, percentile
from .runner import EpochTiming, SubjectTimings

SCHEMA_VERSION = 2
#: The loaders every report has: the DALI loader and the PIL reference (the ``baseline``).
DALI_LOADER = "dali"
BASELINE_LOADER = "reference"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Latency(_Model):
    """Per-batch times over every timed rep, in milliseconds."""

    mean: float
    p50: float
    p99: float
    max: float


class AudioResult(_Model):
    """A loader's audio figures over the timed reps; seconds are the batches' ``lengths``
    times the report's ``audio.unit_seconds``."""

    seconds_per_s: float = Field(description="median over the reps of audio seconds / epoch s")
    seconds_per_s_q1: float
    seconds_per_s_q3: float
    seconds_per_s_iqr: float
    seconds_per_s_reps: list[float]
    seconds_per_epoch: float = Field(description="audio seconds in the first timed rep")
    padding_ratio: float = Field(
        description="padded / real frames over the timed reps (0: no padding)"
    )


class LoaderResult(_Model):
    """One loader's measurements. ``images_per_s`` is the median over the timed reps."""

    name: str
    backend: str
    device: str = Field(description="where batches arrive: cpu or gpu")
    workers: int = Field(description="DALI threads, or torch DataLoader workers")
    images_per_s: float
    images_per_s_q1: float
    images_per_s_q3: float
    images_per_s_iqr: float = Field(description="q3 - q1 of images_per_s_reps")
    images_per_s_reps: list[float]
    epoch_s: list[float]
    images_per_epoch: int
    batches_per_epoch: int
    build_s: float = Field(description="constructing the loader (no data read)")
    warmup_s: list[float] = Field(description="untimed first epochs: pipeline build, worker start")
    batch_ms: Latency = Field(description="wait for a batch + touch (train mode: + the step)")
    wait_ms: Latency = Field(description="the loop waiting on the loader, per batch")
    stall_fraction: float = Field(description="share of the timed epochs spent waiting")
    of_ideal: float | None = Field(
        default=None, description="train mode: images_per_s / ideal.images_per_s"
    )
    audio: AudioResult | None = Field(
        default=None, description="audio runs: seconds of audio per second, padding"
    )


class AudioDatasetInfo(_Model):
    """An audio dataset from its headers (nothing decoded). Counts are per file."""

    files: int
    seconds: float = Field(description="total duration of the samples")
    mean_seconds: float
    min_seconds: float
    max_seconds: float
    sample_rates: dict[str, int] = Field(description="files per sample rate (Hz)")
    channels: dict[str, int] = Field(description="files per channel count")
    formats: dict[str, int] = Field(description="files per container (WAV, FLAC, OGG)")
    bad_headers: int = Field(0, description="files whose header is unusable")


class DatasetInfo(_Model):
    root: str
    images: int = Field(description="samples: images, or audio clips or windows (audio runs)")
    classes: int
    total_bytes: int
    mean_bytes: float
    mean_width: float
    mean_height: float
    jpeg_fraction: float = Field(default=1.0, description="share of files that are JPEGs")
    jpeg_quality: float | None = Field(
        default=None, description="mean JPEG quality, estimated from quantization tables"
    )
    audio: AudioDatasetInfo | None = Field(
        default=None, description="audio runs (the image fields are then 0)"
    )


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
    torch_threads: int = Field(default=1, description="torch intra-op threads of the main process")
    load_before: list[float] | None = Field(
        default=None, description="1/5/15-minute load averages when the run started"
    )
    load_after: list[float] | None = None
    dataset: DatasetInfo


class BenchConfig(_Model):
    """What was asked for; enough to rerun the same measurement."""

    mode: Literal["loader", "train"] = Field(
        "loader",
        description="loader: iterate and touch batches; train: a forward/backward step per batch",
    )
    spec: str = Field("imagenet_train", description="strategy name or spec file as given")
    batch_size: int = Field(64, ge=1, description="batch size of every loader")
    threads: int = Field(
        2, ge=1, description="DALI threads, and DataLoader workers for the baselines"
    )
    reps: int = Field(5, ge=1, description="timed epochs per loader (the median is reported)")
    warmup: int = Field(1, ge=0, description="untimed epochs per loader first")
    seed: int = Field(0, ge=0, description="the loaders' seed (order and augmentations)")
    device: Literal["auto", "cpu", "gpu"] = Field(
        "auto", description="auto: a GPU when CUDA is available"
    )
    shuffle: bool = True
    drop_last: bool = False
    loaders: list[str] = Field(
        default_factory=lambda: [DALI_LOADER, BASELINE_LOADER, "reference-tvio", "torchvision"],
        description="loaders to measure (dali and reference always; dali-cpu joins on a GPU; "
        "an audio spec skips the image-only defaults)",
    )
    model: Literal["auto", "tiny", "resnet18", "resnet50"] = Field(
        "auto", description="train mode's model (auto: a tiny CNN on CPU, resnet18 on GPU)"
    )
    sweep: dict[str, list[int]] = Field(
        default_factory=dict, description="parameter -> values, each varied alone"
    )
    lead_in: Literal["auto", "on", "off"] = Field(
        "auto",
        description="on: an untimed epoch of a loader right before each timed one, and idle "
        "CPU before the next loader (DALI prefetches into its next epoch: short interleaved "
        "epochs give it a head start and take CPU from the others); auto: on for audio specs",
    )
    bucketing: bool = Field(
        False,
        description="audio: also measure dali and reference with length bucketing "
        "(dali-bucketed, reference-bucketed) and compare their padding ratios",
    )
    corners: bool = Field(
        False,
        description="measure every loader on the originals and on a prepared copy (bounded "
        "resolution, `dali-pipelines prepare`) in one interleaved run: <loader>@prepared",
    )
    prepared: str | None = Field(
        None,
        description="corners: the prepared copy (default: made in the cache with --max-side)",
    )
    max_side: Annotated[int, Field(ge=16)] | Literal["auto"] = Field(
        "auto",
        description="corners without --prepared: the longest side prepared (auto: planned "
        "from the spec, the smallest side at which 19 in 20 of its crops are not upsampled)",
    )


class AudioInfo(_Model):
    """How an audio run's lengths become seconds: the output's length unit and its duration."""

    length_unit: Literal["samples", "frames"] = Field(
        description="samples of a wave, or feature frames (one per spectrogram hop)"
    )
    sample_rate: int
    hop: int | None = Field(description="frames: the spectrogram's hop in samples")
    unit_seconds: float = Field(description="seconds per length unit: 1/rate, or hop/rate")


class TrainInfo(_Model):
    model: str
    parameters: int
    device: str
    cached_batches: int = Field(description="distinct batches the ideal replays from memory")


class CropDifference(_Model):
    """Original vs prepared 224-px crops of the same images (grey levels, 0-255)."""

    recipe: str = Field(description="the deterministic recipe the crops come from")
    images: int = Field(description="images compared")
    mean_abs: float = Field(description="mean |original - prepared| over pixels and channels")
    p99_image_mean_abs: float = Field(description="99th percentile of the per-image means")
    max_image_mean_abs: float


class PreparedInfo(_Model):
    """The prepared copy of a four-corner run and what it changed."""

    root: str
    fingerprint: str
    max_side: int | None
    min_side: int | None
    quality: int = Field(description="JPEG quality of re-encoded images")
    images: int
    reencoded: int
    kept: int = Field(description="images stored byte for byte (already within the bound)")
    bad: int
    bytes_in: int
    bytes_out: int
    ratios: dict[str, float] = Field(
        description="images/s of one loader over another's, e.g. 'dali@prepared / torchvision'"
    )
    crop_difference: CropDifference | None = Field(
        default=None, description="original vs prepared 224-px crops (bench.quality)"
    )


class PointResult(_Model):
    """Every loader measured at one configuration."""

    batch_size: int
    threads: int
    loaders: dict[str, LoaderResult]
    speedups: dict[str, float] = Field(description="dali over each other loader")
    ideal: LoaderResult | None = None


class SweepPoint(PointResult):
    parameter: str
    value: int


class BenchReport(_Model):
    schema_version: int = SCHEMA_VERSION
    tool: Literal["dali-pipelines bench"] = "dali-pipelines bench"
    created: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    command: str | None = Field(default=None, description="the command line that made it")
    config: BenchConfig
    spec_name: str | None
    spec_fingerprint: str
    modality: Literal["image", "audio"] = Field(
        "image", description="the spec's; audio: images_* fields count samples"
    )
    audio: AudioInfo | None = Field(default=None, description="audio runs: the length unit")
    notes: list[str] = Field(
        default_factory=list, description="what the run left out, and why (skipped loaders)"
    )
    dali: LoaderResult
    baseline: LoaderResult = Field(
        description="the reference loader (PIL; audio: soundfile + soxr + torch)"
    )
    speedup: float = Field(description="dali.images_per_s / baseline.images_per_s")
    loaders: dict[str, LoaderResult] = Field(description="every loader, dali and baseline too")
    speedups: dict[str, float] = Field(description="dali.images_per_s over each other loader's")
    ideal: LoaderResult | None = Field(
        default=None, description="train mode: the same steps on batches replayed from memory"
    )
    train: TrainInfo | None = None
    sweep: list[SweepPoint] = Field(default_factory=list)
    prepared: PreparedInfo | None = Field(
        default=None, description="corners: the prepared copy, ratios and crop difference"
    )
    env: EnvInfo


def _latency(values: Sequence[float]) -> Latency:
    if not values:
        return Latency(mean=0.0, p50=0.0, p99=0.0, max=0.0)
    return Latency(
        mean=1e3 * statistics.fmean(values),
        p50=1e3 * percentile(values, 50),
        p99=1e3 * percentile(values, 99),
        max=1e3 * max(values),
    )


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(q1, median, q3); with one value all three are that value."""
    if not values:
        raise ValueError("values: expected at least one, got none")
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def loader_result(
    name: str,
    backend: str,
    workers: int,
    timings: SubjectTimings,
    build_s: float,
    device: str = "cpu",
) -> LoaderResult:
    """Summarise a subject's epochs; the median resists one disturbed rep."""
    reps: Sequence[EpochTiming] = timings.reps
    if not reps:
        raise ValueError(f"{name}: expected at least one timed rep, got none")
    rates = [t.images_per_s for t in reps]
    q1, median, q3 = quartiles(rates)
    # The same accumulator users get as loader.stats, so the figures mean the same thing.
    stats = LoaderStats(window=max(1, sum(len(t.wait_s) for t in reps)))
    for t in reps:
        for wait in t.wait_s:
            stats.record_wait(wait)
    waits = stats.summary()
    return LoaderResult(
        name=name,
        backend=backend,
        device=device,
        workers=workers,
        images_per_s=median,
        images_per_s_q1=q1,
        images_per_s_q3=q3,
        images_per_s_iqr=q3 - q1,
        images_per_s_reps=rates,
        epoch_s=[t.seconds for t in reps],
        images_per_epoch=reps[0].images,
        batches_per_epoch=reps[0].batches,
        build_s=build_s,
        warmup_s=[t.seconds for t in timings.warmup],
        batch_ms=_latency([s for t in reps for s in t.batch_s]),
        wait_ms=Latency(mean=waits.mean_ms, p50=waits.p50_ms, p99=waits.p99_ms, max=waits.max_ms),
        stall_fraction=waits.fraction_of(sum(t.seconds for t in reps)),
    )


def speedup(dali: LoaderResult, baseline: LoaderResult) -> float:
    return dali.images_per_s / baseline.images_per_s if baseline.images_per_s > 0 else 0.0


def write_report(report: BenchReport, path: str | os.PathLike[str]) -> Path:
    """Write the report as indented JSON, atomically (a reader never sees half a file)."""
    return write_text_atomic(path, report.model_dump_json(indent=2) + "\n")


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        # mkstemp creates 0600; a report is an ordinary file (umask decides, like open()).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
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
