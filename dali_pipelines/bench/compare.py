"""Runs a benchmark: every loader on the same data and spec, interleaved, per configuration.

A *point* is one configuration (batch size, threads): all loaders are built, warmed up, then
timed with interleaved reps (:func:`run_interleaved`), so drift on a shared machine hits them
alike and speedups are ratios of medians measured in the same run. The headline point is the
configuration asked for; ``sweep`` varies one parameter at a time around it.

An audio spec reads an AudioFolder; its loaders are timed the same way, through a recorder of
their batches' lengths (:mod:`.audio`) that adds audio seconds/s and the padding ratio.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..data import AudioFolder, ImageFolder
from ..data.source import SampleSource
from ..spec import PipelineSpec, load_spec
from .audio import LengthsRecorder, audio_dataset_info, audio_info, audio_result, open_dataset
from .corners import open_prepared, prepared_info
from .env import collect_env, dataset_info, load_average
from .loaders import (
    LOADERS,
    Modality,
    loader_device,
    loader_names,
    resolved_device,
    select_loaders,
)
from .report import (
    BASELINE_LOADER,
    DALI_LOADER,
    BenchConfig,
    BenchReport,
    LoaderResult,
    PointResult,
    SweepPoint,
    TrainInfo,
    loader_result,
    speedup,
)
from .runner import (
    Observer,
    Subject,
    SubjectTimings,
    run_interleaved,
    time_epoch,
    touch_batch,
    wait_for_idle_cpu,
)

#: The name suffix of a loader measured on the prepared copy (four-corner runs).
PREPARED_SUFFIX = "@prepared"
#: Parameters ``--sweep`` can vary, as spelled on the command line -> BenchConfig field.
SWEEPABLE = {"threads": "threads", "batch_size": "batch_size", "batch-size": "batch_size"}
IDEAL = "ideal"
#: Fewer batches an epoch than this without a lead-in gets a note: DALI's 3-batch prefetch
#: into its next epoch would be over a tenth of the epoch's work.
SHORT_EPOCH = 30


def parse_sweep(items: Sequence[str]) -> dict[str, list[int]]:
    """``["threads=1,2", "batch_size=32,64"]`` -> ``{"threads": [1, 2], "batch_size": [32, 64]}``.

    Each parameter is varied alone around the headline configuration (not a grid).
    """
    sweep: dict[str, list[int]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        field = SWEEPABLE.get(name.strip())
        if not sep or field is None:
            raise ValueError(
                f"sweep: expected PARAM=V1,V2 with PARAM in threads, batch_size, got {item!r}"
            )
        try:
            numbers = [int(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise ValueError(f"sweep: expected integers after {name}=, got {values!r}") from None
        if not numbers or min(numbers) < 1:
            raise ValueError(f"sweep: expected positive integers after {name}=, got {values!r}")
        sweep[field] = list(dict.fromkeys(numbers))
    return sweep


def _points(config: BenchConfig) -> list[tuple[str, int, BenchConfig]]:
    return [
        (param, value, config.model_copy(update={param: value}))
        for param, values in config.sweep.items()
        for value in values
    ]


def _key(config: BenchConfig) -> tuple[int, int]:
    return config.threads, config.batch_size


def uses_lead_in(config: BenchConfig, modality: Modality) -> bool:
    """``lead_in`` resolved: ``auto`` is on for audio, whose epochs on a bench set are a few
    batches of long samples (the demo set: 4 of 64), where a 3-batch head start dominates."""
    return config.lead_in == "on" or (config.lead_in == "auto" and modality == "audio")


def planned_epochs(config: BenchConfig, modality: Modality = "image") -> int:
    """Epochs the run will go through (for an overall progress bar)."""
    copies = 2 if config.corners else 1
    subjects = copies * len(loader_names(config, modality)) + (1 if config.mode == "train" else 0)
    reps = config.reps * (2 if uses_lead_in(config, modality) else 1)
    per_point = subjects * (config.warmup + reps) + (1 if config.mode == "train" else 0)
    points = {_key(config)} | {_key(c) for _p, _v, c in _points(config)}
    return per_point * len(points)


def check_config(config: BenchConfig, modality: Modality) -> list[str]:
    """Refuse what cannot run (bad loader names, train mode on audio) before any work; returns
    the notes on loaders left out (:func:`~.loaders.select_loaders`)."""
    _names, notes = select_loaders(config, modality)
    if config.mode == "train" and modality == "audio":
        raise ValueError(
            "mode: expected loader for an audio spec (train mode's models are image CNNs), "
            "got train"
        )
    if config.corners and (modality == "audio" or config.mode == "train"):
        got = "an audio spec" if modality == "audio" else "train mode"
        raise ValueError(f"corners: expected an image spec in loader mode, got {got}")
    if uses_lead_in(config, modality):
        notes.append(
            "lead-in: each timed epoch ran right after an untimed one of the same loader, and "
            "the next loader started once the CPU was idle"
        )
    return notes


def _classes(dataset: SampleSource) -> int:
    classes = getattr(dataset, "classes", None)
    return len(classes) if classes else 1000


def measure_point(
    dataset: SampleSource,
    spec: PipelineSpec,
    config: BenchConfig,
    *,
    observer: Observer | None = None,
    prepared: SampleSource | None = None,
) -> tuple[PointResult, TrainInfo | None]:
    """Every loader of ``config`` at its batch size and threads (plus the ideal in train mode);
    with ``prepared``, each loader also on that copy of the data, as ``<loader>@prepared``."""
    obs = observer or Observer()
    data = {"": dataset} | ({PREPARED_SUFFIX: prepared} if prepared is not None else {})
    names = [n + suffix for n in loader_names(config, spec.modality) for suffix in data]
    loaders: dict[str, Any] = {}
    recorders: dict[str, LengthsRecorder] = {}
    build_s: dict[str, float] = {}
    train: TrainInfo | None = None
    try:
        for name in names:
            start = time.perf_counter()
            base = name.partition("@")[0]
            loaders[name] = LOADERS[base].build(data[name[len(base) :]], spec, config)
            build_s[name] = time.perf_counter() - start
        if spec.modality == "audio":
            recorders = {name: LengthsRecorder(loaders[name]) for name in names}
        subjects = [Subject(name, recorders.get(name, loaders[name])) for name in names]
        touch = touch_batch
        if config.mode == "train":
            touch, ideal_subject, train = _train_setup(dataset, spec, config, loaders, obs)
            subjects.append(ideal_subject)
        lead_in = uses_lead_in(config, spec.modality)
        timings = run_interleaved(
            subjects,
            reps=config.reps,
            warmup=config.warmup,
            observer=obs,
            touch=touch,
            lead_in=lead_in,
            settle=wait_for_idle_cpu if lead_in else None,
        )
    finally:
        for loader in loaders.values():
            close = getattr(loader, "close", None)
            if callable(close):
                close()

    results = _results(names, spec, config, timings, build_s, recorders)
    ideal: LoaderResult | None = None
    if config.mode == "train":
        device = resolved_device(config.device)
        ideal = loader_result(IDEAL, "memory", 0, timings[IDEAL], 0.0, device=device)
        for name, r in results.items():
            results[name] = r.model_copy(update={"of_ideal": _ratio(r, ideal)})
        ideal = ideal.model_copy(update={"of_ideal": 1.0})
    dali = results[DALI_LOADER]
    point = PointResult(
        batch_size=config.batch_size,
        threads=config.threads,
        loaders=results,
        speedups={n: speedup(dali, r) for n, r in results.items() if n != DALI_LOADER},
        ideal=ideal,
    )
    return point, train


def _results(
    names: Sequence[str],
    spec: PipelineSpec,
    config: BenchConfig,
    timings: Mapping[str, SubjectTimings],
    build_s: Mapping[str, float],
    recorders: Mapping[str, LengthsRecorder],
) -> dict[str, LoaderResult]:
    """Each loader's summary; with its audio figures when its batches' lengths were recorded."""
    results = {}
    unit = audio_info(spec).unit_seconds if recorders else 0.0
    for name in names:
        base = name.partition("@")[0]
        result = loader_result(
            name,
            LOADERS[base].backend,
            config.threads,
            timings[name],
            build_s[name],
            device=loader_device(base, config),
        )
        if name in recorders:
            audio = audio_result(recorders[name], timings[name].reps, unit)
            result = result.model_copy(update={"audio": audio})
        results[name] = result
    return results


def _ratio(result: LoaderResult, ideal: LoaderResult) -> float:
    return result.images_per_s / ideal.images_per_s if ideal.images_per_s > 0 else 0.0


def _train_setup(
    dataset: SampleSource,
    spec: PipelineSpec,
    config: BenchConfig,
    loaders: Mapping[str, Any],
    obs: Observer,
) -> tuple[Any, Subject, TrainInfo]:
    import torch

    from .train import BatchCache, TrainStep, resolve_model

    device_name = resolved_device(config.device)
    device = torch.device("cuda" if device_name == "gpu" else "cpu")
    model = resolve_model(config.model, device_name)
    step = TrainStep(model, spec, _classes(dataset), device)
    # The ideal's batches come from one untimed epoch of the DALI loader (an extra warm-up for
    # it, which does not change its steady state); they are real outputs of the spec.
    cache = BatchCache(device)
    source = loaders[DALI_LOADER]
    obs.epoch_started(IDEAL, "capture", len(source))
    timing = time_epoch(source, touch=cache, on_batch=lambda n: obs.batch_done(IDEAL, n))
    obs.epoch_done(IDEAL, "capture", timing)
    info = TrainInfo(
        model=model,
        parameters=step.parameters,
        device=device_name,
        cached_batches=len(cache.cached),
    )
    return step, Subject(IDEAL, cache.replay()), info


def _dataset(
    root: str | os.PathLike[str] | ImageFolder | AudioFolder, spec: PipelineSpec
) -> ImageFolder | AudioFolder:
    if not isinstance(root, (ImageFolder, AudioFolder)):
        return open_dataset(root, spec)
    if isinstance(root, AudioFolder) != (spec.modality == "audio"):
        raise ValueError(
            f"root: expected the dataset of an {spec.modality} spec, got {type(root).__name__}"
        )
    return root


def run_bench(
    root: str | os.PathLike[str] | ImageFolder | AudioFolder,
    config: BenchConfig,
    *,
    observer: Observer | None = None,
    command: str | None = None,
) -> BenchReport:
    """Measure the configured loaders on ``root`` and report.

    ``root`` is a folder (an ImageFolder, or an AudioFolder for an audio spec) or the dataset.
    """
    load_before = load_average()
    spec = load_spec(config.spec)
    notes = check_config(config, spec.modality)  # fail on bad names before any loader starts
    dataset = _dataset(root, spec)
    prepared = open_prepared(config.prepared) if config.corners else None
    obs = observer or Observer()
    measured: dict[tuple[int, int], tuple[PointResult, TrainInfo | None]] = {}

    def at(cfg: BenchConfig, description: str) -> tuple[PointResult, TrainInfo | None]:
        if _key(cfg) not in measured:
            obs.point_started(description)
            measured[_key(cfg)] = measure_point(dataset, spec, cfg, observer=obs, prepared=prepared)
        return measured[_key(cfg)]

    head, train = at(config, f"batch_size={config.batch_size} threads={config.threads}")
    sweep = [
        SweepPoint(parameter=param, value=value, **at(cfg, f"{param}={value}")[0].model_dump())
        for param, value, cfg in _points(config)
    ]
    dali, baseline = head.loaders[DALI_LOADER], head.loaders[BASELINE_LOADER]
    if not uses_lead_in(config, spec.modality) and dali.batches_per_epoch < SHORT_EPOCH:
        notes.append(
            f"epochs of {dali.batches_per_epoch} batches without a lead-in: DALI starts each "
            "timed epoch with batches prefetched while the other loaders ran (and takes CPU "
            "from them); --lead-in on times every loader in its steady state"
        )
    corners = None
    if prepared is not None:
        corners = prepared_info(dataset, prepared, head.loaders, config)
    if isinstance(dataset, AudioFolder):
        info = audio_dataset_info(dataset)
    else:
        info = dataset_info(dataset)
    return BenchReport(
        command=command,
        config=config,
        spec_name=spec.name,
        spec_fingerprint=spec.fingerprint,
        modality=spec.modality,
        audio=audio_info(spec) if spec.modality == "audio" else None,
        notes=notes,
        dali=dali,
        baseline=baseline,
        speedup=speedup(dali, baseline),
        loaders=head.loaders,
        speedups=head.speedups,
        ideal=head.ideal,
        train=train,
        sweep=sweep,
        prepared=corners,
        env=collect_env(info, load_before=load_before),
    )
