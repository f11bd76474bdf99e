"""A report as text cells and sentences, shared by the rich table and the markdown file.

Both show the same columns, so a table pasted from the terminal and the ``--markdown`` file never
disagree. Rates are medians over the timed reps; spreads are the IQR, shown as the range q1-q3.
An audio report counts samples (samples/s), adds audio seconds/s and the padding ratio, and
compares with the reference loader rather than "PIL" (no image is decoded).
"""

from __future__ import annotations

from .report import (
    BASELINE_LOADER,
    DALI_LOADER,
    AudioInfo,
    BenchReport,
    LoaderResult,
    PointResult,
    PreparedInfo,
)

#: The suffix of a loader measured on a prepared copy (``bench --corners``).
PREPARED = "@prepared"
#: Column headers of the main table; "of ideal" only in train mode.
COLUMNS = (
    "loader",
    "device",
    "img/s",
    "IQR (q1-q3)",
    "batch ms p50/p99",
    "wait ms",
    "stall",
    "vs PIL",
)
#: An audio report's columns: samples, their audio seconds and padding, against the reference.
AUDIO_COLUMNS = (
    "loader",
    "device",
    "samples/s",
    "IQR (q1-q3)",
    "audio s/s",
    "padding",
    "batch ms p50/p99",
    "wait ms",
    "stall",
    "vs reference",
)
IDEAL_COLUMN = "of ideal"
RIGHT_ALIGNED = frozenset(COLUMNS[2:]) | frozenset(AUDIO_COLUMNS[2:]) | {IDEAL_COLUMN}


def is_audio(report: BenchReport) -> bool:
    return report.modality == "audio"


def unit(report: BenchReport) -> str:
    """What the rates count: ``images``, or ``samples`` (clips or windows) in an audio run."""
    return "samples" if is_audio(report) else "images"


def rate_label(report: BenchReport) -> str:
    return "samples/s" if is_audio(report) else "img/s"


def baseline_label(report: BenchReport) -> str:
    """The baseline as the speedup names it: PIL decodes images; audio has soundfile."""
    return "reference" if is_audio(report) else "PIL baseline"


def columns(report: BenchReport) -> list[str]:
    base = list(AUDIO_COLUMNS if is_audio(report) else COLUMNS)
    return [*base, IDEAL_COLUMN] if report.ideal is not None else base


def _audio_cells(r: LoaderResult) -> list[str]:
    if r.audio is None:
        return ["-", "-"]
    seconds = r.audio.seconds_per_s
    # Tiny test folders give a few seconds/s; a real run hundreds (no decimals needed there).
    return [
        f"{seconds:,.0f}" if seconds >= 100 else f"{seconds:.1f}",
        f"{r.audio.padding_ratio:.2f}",
    ]


def _row(r: LoaderResult, base: float, train: bool, audio: bool) -> list[str]:
    cells = [
        r.name,
        r.device,
        f"{r.images_per_s:,.0f}",
        f"{r.images_per_s_q1:,.0f}-{r.images_per_s_q3:,.0f}",
        *(_audio_cells(r) if audio else []),
        f"{r.batch_ms.p50:.0f} / {r.batch_ms.p99:.0f}",
        f"{r.wait_ms.mean:.1f}",
        f"{r.stall_fraction:.0%}",
        f"{r.images_per_s / base:.2f}x" if base > 0 else "-",
    ]
    if train:
        cells.append(f"{r.of_ideal:.0%}" if r.of_ideal is not None else "-")
    return cells


def rows(report: BenchReport) -> list[list[str]]:
    """One row per loader, the ideal last in train mode."""
    base = report.baseline.images_per_s
    train = report.ideal is not None
    results = list(report.loaders.values())
    if report.ideal is not None:
        results.append(report.ideal)
    return [_row(r, base, train, is_audio(report)) for r in results]


def title(report: BenchReport) -> str:
    cfg, env = report.config, report.env
    mode = "training step" if cfg.mode == "train" else "loader only"
    model = f" ({report.train.model})" if report.train is not None else ""
    return (
        f"{report.spec_name or cfg.spec} | {mode}{model} | batch {cfg.batch_size} | "
        f"{cfg.threads} threads/workers | {env.dataset.images} {unit(report)} | median of "
        f"{cfg.reps} interleaved reps"
    )


def headline(report: BenchReport) -> list[str]:
    """The sentences a reader needs: speedups, the ideal, the stall, what ran where."""
    lines = [_speedups(report)]
    if report.ideal is not None:
        lines += _ideal_lines(report, report.ideal)
    if report.audio is not None:
        lines += _audio_lines(report, report.audio)
    if report.prepared is not None:
        lines += _prepared_lines(report.prepared)
    lines += [f"note: {note}" for note in report.notes]
    noisy = noisy_loaders(report)
    if noisy:
        lines.append(
            "noisy: the IQR is "
            + ", ".join(f"{pct:.0%} of the median for {name}" for name, pct in noisy.items())
            + "; rerun with more --reps, or on a quieter machine, before trusting small gaps"
        )
    env = report.env
    # The load before the run is other work on the machine (after, it includes this run).
    load = f" | load avg {env.load_before[0]:.1f} before" if env.load_before is not None else ""
    lines.append(
        f"{env.cpu_model}, {env.cpu_usable}/{env.cpu_cores} CPUs"
        f"{', GPU ' + env.gpu if env.gpu else ', no GPU'} | torch {env.torch}, torchvision "
        f"{env.torchvision}, DALI {env.dali}, Python {env.python}{load}"
    )
    lines.append(f"data: {_data(report)} | spec {report.spec_fingerprint}")
    return lines


def _speedups(report: BenchReport) -> str:
    return f"speedup DALI / {_named(baseline_label(report))}: {report.speedup:.2f}x" + "".join(
        f"; DALI / {name}: {value:.2f}x"
        for name, value in report.speedups.items()
        if name != BASELINE_LOADER and not name.endswith(PREPARED)  # the corners line has them
    )


def _prepared_lines(info: PreparedInfo) -> list[str]:
    """The four corners' ratios, what the copy is, and what it costs on the crops."""
    bound = f"max side {info.max_side}" if info.max_side else f"min side {info.min_side}"
    lines = ["corners: " + "; ".join(f"{k}: {v:.2f}x" for k, v in info.ratios.items())]
    lines.append(
        f"prepared copy ({bound}, JPEG quality {info.quality}): {info.reencoded} re-encoded, "
        f"{info.kept} kept, {info.bad} bad; {info.bytes_in / 1e6:,.0f} MB -> "
        f"{info.bytes_out / 1e6:,.0f} MB in {info.root}"
    )
    diff = info.crop_difference
    if diff is not None:
        lines.append(
            f"quality: mean |original - prepared| {diff.mean_abs:.2f} grey levels over "
            f"{diff.images} 224-px crops (per image: p99 {diff.p99_image_mean_abs:.2f}, max "
            f"{diff.max_image_mean_abs:.2f}); {diff.recipe}"
        )
    return lines


def _named(label: str) -> str:
    """``PIL baseline (reference)``; the audio baseline's label is the loader's name already."""
    return label if label == BASELINE_LOADER else f"{label} ({BASELINE_LOADER})"


def _ideal_lines(report: BenchReport, ideal: LoaderResult) -> list[str]:
    reached = ", ".join(
        f"{name} {r.of_ideal:.0%}" for name, r in report.loaders.items() if r.of_ideal is not None
    )
    dali = report.loaders[DALI_LOADER]
    return [
        f"ideal (same steps on batches replayed from memory): "
        f"{ideal.images_per_s:,.0f} img/s; loaders reach {reached} of it",
        f"the training loop waited on DALI {dali.wait_ms.mean:.1f} ms per batch "
        f"({dali.stall_fraction:.0%} of the time), on the PIL baseline "
        f"{report.baseline.wait_ms.mean:.1f} ms ({report.baseline.stall_fraction:.0%})",
    ]


def _audio_lines(report: BenchReport, audio: AudioInfo) -> list[str]:
    """How audio seconds are counted, and the padding each loader's batches carried."""
    if audio.length_unit == "frames":
        how = (
            f"feature frames x the hop ({audio.hop} samples at {audio.sample_rate} Hz = "
            f"{1e3 * audio.unit_seconds:g} ms a frame)"
        )
    else:
        how = f"wave samples at {audio.sample_rate} Hz"
    padding = ", ".join(
        f"{name} {r.audio.padding_ratio:.2f}"
        for name, r in report.loaders.items()
        if r.audio is not None
    )
    return [
        f"audio s/s: seconds of audio delivered per second, the batches' lengths as {how}",
        f"padding (padded / real frames over the timed reps): {padding}",
    ]


def _data(report: BenchReport) -> str:
    ds = report.env.dataset
    if ds.audio is not None:
        a = ds.audio
        rates = ", ".join(f"{rate} Hz" for rate in a.sample_rates)
        formats = ", ".join(f"{fmt} {count}" for fmt, count in a.formats.items())
        return (
            f"{ds.images} samples from {a.files} files, {ds.classes} classes, {a.seconds:,.0f} s "
            f"of audio (mean {a.mean_seconds:.2f} s, {a.min_seconds:.2f}-{a.max_seconds:.2f} s), "
            f"{rates}; {formats}"
        )
    quality = f", JPEG quality ~{ds.jpeg_quality:.0f}" if ds.jpeg_quality is not None else ""
    return (
        f"{ds.images} images, {ds.classes} classes, mean {ds.mean_width:.0f}x"
        f"{ds.mean_height:.0f} px, {ds.mean_bytes / 1024:.0f} KiB{quality}"
    )


#: An IQR above this share of the median flags a loader's figures as noisy.
NOISY_IQR = 0.15


def noisy_loaders(report: BenchReport) -> dict[str, float]:
    """Loaders (and the ideal) whose IQR exceeds :data:`NOISY_IQR` of their median."""
    results = [*report.loaders.values(), *([report.ideal] if report.ideal else [])]
    return {
        r.name: r.images_per_s_iqr / r.images_per_s
        for r in results
        if r.images_per_s > 0 and r.images_per_s_iqr / r.images_per_s > NOISY_IQR
    }


def sweep_columns(report: BenchReport) -> list[str]:
    names = list(report.loaders)
    extra = ["ideal"] if report.ideal is not None else []
    rate = rate_label(report)
    ratio = f"DALI / {'reference' if is_audio(report) else 'PIL'}"
    return ["parameter", "value", *[f"{n} {rate}" for n in [*names, *extra]], ratio]


def _rate(r: LoaderResult | None) -> str:
    if r is None:
        return "-"
    return f"{r.images_per_s:,.0f} ({r.images_per_s_q1:,.0f}-{r.images_per_s_q3:,.0f})"


def sweep_rows(report: BenchReport) -> list[list[str]]:
    names = list(report.loaders)
    out = []
    for point in report.sweep:
        cells = [point.parameter, str(point.value)]
        cells += [_rate(point.loaders.get(n)) for n in names]
        if report.ideal is not None:
            cells.append(_rate(point.ideal))
        cells.append(_speedup(point))
        out.append(cells)
    return out


def _speedup(point: PointResult) -> str:
    value = point.speedups.get(BASELINE_LOADER)
    return f"{value:.2f}x" if value is not None else "-"
