"""``--plot PNG``: images/s (samples/s for audio) per loader as bars with IQR error bars; a
sweep as lines.

Drawn with matplotlib's object API on an Agg canvas (no pyplot): no GUI backend, no global
figure state, safe inside a user's process or a test.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .report import BenchReport, LoaderResult
from .summary import baseline_label, unit

_COLORS = {
    "dali": "#76b900",  # NVIDIA green
    "dali-cpu": "#4a7a00",
    "reference": "#4c72b0",
    "reference-tvio": "#8172b2",
    "dali-bucketed": "#a8d65c",
    "reference-bucketed": "#8fb0dd",
    "ideal": "#999999",
}
_FALLBACK = ("#dd8452", "#55a868", "#c44e52", "#937860")


def _color(name: str, index: int) -> str:
    return _COLORS.get(name, _FALLBACK[index % len(_FALLBACK)])


def _yerr(results: list[LoaderResult]) -> list[list[float]]:
    """Asymmetric error bars from the median down to q1 and up to q3."""
    return [
        [max(0.0, r.images_per_s - r.images_per_s_q1) for r in results],
        [max(0.0, r.images_per_s_q3 - r.images_per_s) for r in results],
    ]


def _bars(ax: Any, report: BenchReport) -> None:
    results = list(report.loaders.values())
    names = [r.name for r in results]
    rates = [r.images_per_s for r in results]
    colors = [_color(n, i) for i, n in enumerate(names)]
    bars = ax.bar(names, rates, yerr=_yerr(results), capsize=6, color=colors, zorder=2)
    base = report.baseline.images_per_s
    versus = "reference" if report.modality == "audio" else "PIL"
    for bar, r in zip(bars, results):
        label = f"{r.images_per_s:,.0f}\n{r.images_per_s / base:.2f}x {versus}" if base > 0 else ""
        if r.audio is not None:
            label += f"\npadding {r.audio.padding_ratio:.2f}"
        if r.of_ideal is not None:
            label += f"\n{r.of_ideal:.0%} of ideal"
        ax.annotate(
            label,
            (bar.get_x() + bar.get_width() / 2, r.images_per_s_q3),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
        )
    top = max(r.images_per_s_q3 for r in results)
    if report.ideal is not None:
        ideal = report.ideal.images_per_s
        ax.axhline(ideal, color=_COLORS["ideal"], linestyle="--", zorder=1)
        # The ideal's own spread, as a band: a noisy machine moves the ceiling too.
        q1, q3 = report.ideal.images_per_s_q1, report.ideal.images_per_s_q3
        ax.axhspan(q1, q3, color=_COLORS["ideal"], alpha=0.15, zorder=0)
        ax.annotate(
            f"ideal (batches from memory) {ideal:,.0f}",
            (0.01, ideal),
            xycoords=("axes fraction", "data"),
            xytext=(0, 3),
            textcoords="offset points",
            fontsize=9,
            color="#555555",
        )
        top = max(top, q3)
    ax.set_ylim(0, top * 1.3)  # room for the labels above the bars
    rate = f"{unit(report)}/s"
    ax.set_ylabel(
        f"{'training ' if report.config.mode == 'train' else ''}{rate} (median, bars: IQR)"
    )
    ax.grid(axis="y", alpha=0.3, zorder=0)
    ax.tick_params(axis="x", labelsize=9)


def _sweep_lines(ax: Any, report: BenchReport, parameter: str) -> None:
    points = sorted((p for p in report.sweep if p.parameter == parameter), key=lambda p: p.value)
    names = list(report.loaders) + (["ideal"] if report.ideal is not None else [])
    for i, name in enumerate(names):
        found = [
            (p.value, p.ideal if name == "ideal" else p.loaders.get(name))
            for p in points
            if (p.ideal if name == "ideal" else p.loaders.get(name)) is not None
        ]
        if not found:
            continue
        xs = [value for value, _r in found]
        results = [r for _v, r in found if r is not None]
        ax.errorbar(
            xs,
            [r.images_per_s for r in results],
            yerr=_yerr(results),
            marker="o",
            capsize=4,
            label=name,
            color=_color(name, i),
            linestyle="--" if name == "ideal" else "-",
        )
    ax.set_xlabel(parameter)
    ax.set_xticks([p.value for p in points])
    if parameter == "batch_size":
        ax.set_xscale("log", base=2)
        ax.set_xticks([p.value for p in points], [str(p.value) for p in points])
    ax.set_ylabel(f"{unit(report)}/s (median, bars: IQR)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{unit(report)}/s vs {parameter}", fontsize=10)


def write_plot(report: BenchReport, path: str | os.PathLike[str]) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    parameters = list(dict.fromkeys(p.parameter for p in report.sweep))
    panels = 1 + len(parameters)
    # At most two panels a row: three in a row are too wide to read on a screen or in a doc.
    cols = min(panels, 2)
    rows = -(-panels // cols)
    fig = Figure(figsize=(6.5 * cols, 5.2 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(rows, cols, squeeze=False).flat)
    for unused in axes[panels:]:
        unused.set_visible(False)
    _bars(axes[0], report)
    cfg, env = report.config, report.env
    mode = f"train step ({report.train.model})" if report.train is not None else "loader only"
    axes[0].set_title(
        f"{report.spec_name or cfg.spec}, {mode}, batch {cfg.batch_size}, {cfg.threads} threads\n"
        f"DALI / {baseline_label(report)} {report.speedup:.2f}x",
        fontsize=10,
    )
    for ax, parameter in zip(axes[1:], parameters):
        _sweep_lines(ax, report, parameter)
    gpu = env.gpu or "no GPU"
    fig.suptitle(
        f"dali-pipelines bench: {env.cpu_model} ({env.cpu_usable} CPUs), {gpu}; "
        f"{env.dataset.images} {unit(report)}, median of {cfg.reps} interleaved reps",
        fontsize=10,
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110)
    return target
