"""``--plot PNG``: images/s (samples/s for audio) per loader as bars with IQR error bars; a
sweep as lines.

The figure explains itself: a title (spec, mode, batch, threads, the headline speedup), a smaller
subtitle with the machine and the data, a legend that says what each loader is (from
:mod:`.legend`, as the tables say it) and axes with units. Titles and legend labels are wrapped
to the figure's width by measuring them, and the figure grows by their height, so nothing is
clipped however long a CPU's name is.

Drawn with matplotlib's object API on an Agg canvas (no pyplot): no GUI backend, no global
figure state, safe inside a user's process or a test.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from . import legend
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
#: Inches of one panel (axes with their labels); the header and legend add their own height.
PANEL_SIZE = (6.5, 4.6)
DPI = 110
_AXIS_LABELS = {
    "threads": "DALI threads = DataLoader workers",
    "batch_size": "batch size (samples per batch, log scale)",
}


def _color(name: str, index: int) -> str:
    return _COLORS.get(name, _FALLBACK[index % len(_FALLBACK)])


def _yerr(results: list[LoaderResult]) -> list[list[float]]:
    """Asymmetric error bars from the median down to q1 and up to q3."""
    return [
        [max(0.0, r.images_per_s - r.images_per_s_q1) for r in results],
        [max(0.0, r.images_per_s_q3 - r.images_per_s) for r in results],
    ]


def rate_axis_label(report: BenchReport) -> str:
    """``images/s``/``samples/s`` (training-step ones in train mode), median and error bars."""
    step = "training-step " if report.config.mode == "train" else ""
    return f"{step}{unit(report)}/s (median of {report.config.reps} reps, bars: q1-q3)"


def _bar_label(report: BenchReport, r: LoaderResult) -> str:
    base = report.baseline.images_per_s
    if base <= 0:
        return ""
    versus = "reference" if report.modality == "audio" else "PIL"
    label = f"{r.images_per_s:,.0f}/s\n{r.images_per_s / base:.2f}x {versus}"
    if r.audio is not None:
        seconds = r.audio.seconds_per_s
        label += f"\n{seconds:,.0f} audio s/s" if seconds >= 100 else f"\n{seconds:.1f} audio s/s"
        label += f"\npadding {r.audio.padding_ratio:.2f}"
    if r.of_ideal is not None:
        label += f"\n{r.of_ideal:.0%} of ideal"
    return label


def _ideal_line(ax: Any, ideal: LoaderResult) -> float:
    """The ideal as a dashed line with its own spread as a band (a noisy machine moves the
    ceiling too); returns the band's top."""
    ax.axhline(ideal.images_per_s, color=_COLORS["ideal"], linestyle="--", zorder=1)
    ax.axhspan(ideal.images_per_s_q1, ideal.images_per_s_q3, color=_COLORS["ideal"], alpha=0.15)
    ax.annotate(
        f"ideal {ideal.images_per_s:,.0f}/s",
        (0.01, ideal.images_per_s),
        xycoords=("axes fraction", "data"),
        xytext=(0, 3),
        textcoords="offset points",
        fontsize=9,
        color="#555555",
    )
    return ideal.images_per_s_q3


def _bars(ax: Any, report: BenchReport) -> None:
    results = list(report.loaders.values())
    names = [r.name for r in results]
    colors = [_color(n, i) for i, n in enumerate(names)]
    rates = [r.images_per_s for r in results]
    bars = ax.bar(names, rates, yerr=_yerr(results), capsize=6, color=colors, zorder=2)
    lines = 1
    for bar, r in zip(bars, results):
        label = _bar_label(report, r)
        lines = max(lines, label.count("\n") + 1)
        ax.annotate(
            label,
            (bar.get_x() + bar.get_width() / 2, r.images_per_s_q3),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8.5,
        )
    top = max(r.images_per_s_q3 for r in results)
    if report.ideal is not None:
        top = max(top, _ideal_line(ax, report.ideal))
    ax.set_ylim(0, top * (1.1 + 0.08 * lines))  # room for the labels above the bars
    ax.set_ylabel(rate_axis_label(report))
    ax.set_xlabel("loader (see the legend below)")
    ax.set_title(f"{unit(report)}/s per loader, higher is better", fontsize=10)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    ax.tick_params(axis="x", labelsize=9, rotation=15 if len(names) > 4 else 0)


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
    ax.set_xlabel(_AXIS_LABELS.get(parameter, parameter))
    ax.set_xticks([p.value for p in points])
    if parameter == "batch_size":
        ax.set_xscale("log", base=2)
        ax.set_xticks([p.value for p in points], [str(p.value) for p in points])
    ax.set_ylabel(rate_axis_label(report))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{unit(report)}/s vs {parameter}", fontsize=10)


def short_cpu(model: str) -> str:
    """``Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz`` -> ``Intel Xeon Gold 6338``."""
    model = re.sub(r"\((R|TM|tm|r)\)", "", model)
    model = re.sub(r"\s+(CPU\s+)?@\s*[\d.]+\s*GHz\s*$", "", model)
    model = re.sub(r"\s+(CPU|Processor)$", "", model.strip())
    return re.sub(r"\s+", " ", model).strip()


def title(report: BenchReport) -> str:
    """The spec, the mode and the headline speedup."""
    mode = f"training step ({report.train.model})" if report.train is not None else "loader only"
    return (
        f"{report.spec_name or report.config.spec}, {mode}: "
        f"DALI {report.speedup:.2f}x the {baseline_label(report)}"
    )


def subtitle(report: BenchReport) -> str:
    """How it was measured, then the machine (CPU, cores, load, GPU, versions), a line each."""
    cfg, env = report.config, report.env
    load = f", load {env.load_before[0]:.1f} before the run" if env.load_before else ""
    return (
        f"batch {cfg.batch_size}, {cfg.threads} DALI threads = DataLoader workers, "
        f"{env.dataset.images} {unit(report)}, median of {cfg.reps} interleaved reps\n"
        f"{short_cpu(env.cpu_model)}, {env.cpu_usable} of {env.cpu_cores} CPUs usable{load}; "
        f"{env.gpu or 'no GPU'}; torch {env.torch}, DALI {env.dali}"
    )


def write_plot(report: BenchReport, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    make_figure(report).savefig(target, dpi=DPI)
    return target


def make_figure(report: BenchReport) -> Any:
    """The figure :func:`write_plot` saves (a matplotlib ``Figure`` on an Agg canvas)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .plot_layout import frame

    parameters = list(dict.fromkeys(p.parameter for p in report.sweep))
    panels = 1 + len(parameters)
    # At most two panels a row: three in a row are too wide to read on a screen or in a doc.
    cols = min(panels, 2)
    rows = -(-panels // cols)
    fig = Figure(figsize=(PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.set_layout_engine("constrained")
    axes = list(fig.subplots(rows, cols, squeeze=False).flat)
    for unused in axes[panels:]:
        unused.set_visible(False)
    _bars(axes[0], report)
    for ax, parameter in zip(axes[1:], parameters):
        _sweep_lines(ax, report, parameter)
    handles = [_handle(name, i) for i, name in enumerate(_legend_names(report))]
    frame(fig, title(report), subtitle(report), handles, legend.entries(report))
    return fig


def _legend_names(report: BenchReport) -> list[str]:
    return list(report.loaders) + (["ideal"] if report.ideal is not None else [])


def _handle(name: str, index: int) -> Any:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if name == "ideal":
        return Line2D([], [], color=_COLORS["ideal"], linestyle="--")
    return Patch(facecolor=_color(name, index))
