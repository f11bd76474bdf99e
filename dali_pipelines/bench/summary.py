"""A report as text cells and sentences, shared by the rich table and the markdown file.

Both show the same columns, so a table pasted from the terminal and the ``--markdown`` file never
disagree. Rates are medians over the timed reps; spreads are the IQR, shown as the range q1-q3.
"""

from __future__ import annotations

from .report import BASELINE_LOADER, DALI_LOADER, BenchReport, LoaderResult, PointResult

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
IDEAL_COLUMN = "of ideal"
RIGHT_ALIGNED = frozenset(COLUMNS[2:]) | {IDEAL_COLUMN}


def columns(report: BenchReport) -> list[str]:
    return [*COLUMNS, IDEAL_COLUMN] if report.ideal is not None else list(COLUMNS)


def _row(r: LoaderResult, base: float, train: bool) -> list[str]:
    cells = [
        r.name,
        r.device,
        f"{r.images_per_s:,.0f}",
        f"{r.images_per_s_q1:,.0f}-{r.images_per_s_q3:,.0f}",
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
    return [_row(r, base, train) for r in results]


def title(report: BenchReport) -> str:
    cfg, env = report.config, report.env
    mode = "training step" if cfg.mode == "train" else "loader only"
    model = f" ({report.train.model})" if report.train is not None else ""
    return (
        f"{report.spec_name or cfg.spec} | {mode}{model} | batch {cfg.batch_size} | "
        f"{cfg.threads} threads/workers | {env.dataset.images} images | median of {cfg.reps} "
        f"interleaved reps"
    )


def headline(report: BenchReport) -> list[str]:
    """The sentences a reader needs: speedups, the ideal, the stall, what ran where."""
    lines = [
        f"speedup DALI / PIL baseline ({BASELINE_LOADER}): {report.speedup:.2f}x"
        + "".join(
            f"; DALI / {name}: {value:.2f}x"
            for name, value in report.speedups.items()
            if name != BASELINE_LOADER
        )
    ]
    if report.ideal is not None:
        reached = ", ".join(
            f"{name} {r.of_ideal:.0%}"
            for name, r in report.loaders.items()
            if r.of_ideal is not None
        )
        lines.append(
            f"ideal (same steps on batches replayed from memory): "
            f"{report.ideal.images_per_s:,.0f} img/s; loaders reach {reached} of it"
        )
        dali = report.loaders[DALI_LOADER]
        lines.append(
            f"the training loop waited on DALI {dali.wait_ms.mean:.1f} ms per batch "
            f"({dali.stall_fraction:.0%} of the time), on the PIL baseline "
            f"{report.baseline.wait_ms.mean:.1f} ms ({report.baseline.stall_fraction:.0%})"
        )
    noisy = noisy_loaders(report)
    if noisy:
        lines.append(
            "noisy: the IQR is "
            + ", ".join(f"{pct:.0%} of the median for {name}" for name, pct in noisy.items())
            + "; rerun with more --reps, or on a quieter machine, before trusting small gaps"
        )
    env, ds = report.env, report.env.dataset
    quality = f", JPEG quality ~{ds.jpeg_quality:.0f}" if ds.jpeg_quality is not None else ""
    # The load before the run is other work on the machine (after, it includes this run).
    load = f" | load avg {env.load_before[0]:.1f} before" if env.load_before is not None else ""
    lines.append(
        f"{env.cpu_model}, {env.cpu_usable}/{env.cpu_cores} CPUs"
        f"{', GPU ' + env.gpu if env.gpu else ', no GPU'} | torch {env.torch}, torchvision "
        f"{env.torchvision}, DALI {env.dali}, Python {env.python}{load}"
    )
    lines.append(
        f"data: {ds.images} images, {ds.classes} classes, mean {ds.mean_width:.0f}x"
        f"{ds.mean_height:.0f} px, {ds.mean_bytes / 1024:.0f} KiB{quality} | spec "
        f"{report.spec_fingerprint}"
    )
    return lines


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
    return ["parameter", "value", *[f"{n} img/s" for n in [*names, *extra]], "DALI / PIL"]


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
