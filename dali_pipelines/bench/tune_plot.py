"""Tuning pictures: images/s vs threads with the per-core ideal, and per-stage time per image.

* :func:`threads_figure`: measured images/s per thread count (one line per loader) and, dashed,
  the per-core ideal: the one-thread rate times the threads (perfect scaling). From a ``tune``
  result (the best point per thread count) or a ``bench --sweep threads=...`` report.
* :func:`stages_figure`: one stacked bar per loader of milliseconds per image by stage (read,
  decode, augment, wait, ...), from ``{loader: {stage: ms per image}}``.

Same conventions as :mod:`.plot`: matplotlib's object API on an Agg canvas, no pyplot.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .plot import DPI, PANEL_SIZE, _color
from .report import BenchReport
from .tune import TuneResult

#: (threads, images/s) measured, in any order.
Curve = Sequence[tuple[int, float]]
#: One color per profile stage (11): no two stages of a bar alike.
_STAGE_COLORS = (
    "#4c72b0", "#76b900", "#dd8452", "#8172b2", "#c44e52", "#937860",
    "#999999", "#da8bc3", "#ccb974", "#64b5cd", "#2f4b7c",
)  # fmt: skip


def _figure() -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=PANEL_SIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    fig.set_layout_engine("constrained")
    return fig


def ideal_line(curve: Curve) -> list[tuple[int, float]]:
    """Perfect per-core scaling from the fewest threads measured: rate / threads per thread."""
    ordered = sorted(curve)
    if not ordered:
        return []
    threads, rate = ordered[0]
    per_thread = rate / threads
    return [(t, per_thread * t) for t, _ in ordered]


def threads_figure(curves: Mapping[str, Curve], title: str) -> Any:
    """Images/s vs threads, one line per loader, each with its per-core ideal dashed."""
    fig = _figure()
    ax = fig.add_subplot()
    ticks: set[int] = set()
    for i, (name, curve) in enumerate(curves.items()):
        ordered = sorted(curve)
        if not ordered:
            continue
        color = _color(name, i)
        ticks |= {t for t, _ in ordered}
        ax.plot(*zip(*ordered), marker="o", color=color, label=f"{name} (measured)")
        ax.plot(
            *zip(*ideal_line(ordered)), linestyle="--", color=color, alpha=0.6,
            label=f"{name}: ideal (1-thread rate x threads)",
        )  # fmt: skip
    ax.set_xticks(sorted(ticks))
    ax.set_xlabel("DALI threads")
    ax.set_ylabel("images/s (median)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return fig


def stages_figure(stages: Mapping[str, Mapping[str, float]], title: str) -> Any:
    """One stacked bar per loader: milliseconds per image of each stage."""
    fig = _figure()
    ax = fig.add_subplot()
    loaders = list(stages)
    names = list(dict.fromkeys(s for per in stages.values() for s in per))
    bottoms = [0.0] * len(loaders)
    for i, stage in enumerate(names):
        heights = [float(stages[loader].get(stage, 0.0)) for loader in loaders]
        color = _STAGE_COLORS[i % len(_STAGE_COLORS)]
        ax.bar(loaders, heights, bottom=bottoms, label=stage, color=color, zorder=2)
        bottoms = [b + h for b, h in zip(bottoms, heights)]
    for x, total in enumerate(bottoms):
        ax.annotate(f"{total:.2f}", (x, total), ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, max(bottoms, default=0.0) * 1.12 or 1.0)  # room for the totals
    ax.set_ylabel("ms per image (stacked by stage)")
    ax.grid(axis="y", alpha=0.3, zorder=0)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return fig


def tune_curve(result: TuneResult) -> dict[str, list[tuple[int, float]]]:
    """The best measured images/s per thread count of a ``tune`` run."""
    best: dict[int, float] = {}
    for point in result.points:
        threads = int(point.settings["num_threads"])
        best[threads] = max(best.get(threads, 0.0), point.images_per_s)
    return {"dali": sorted(best.items())}


def report_curves(report: BenchReport) -> dict[str, list[tuple[int, float]]]:
    """Per loader, images/s per thread count of a ``bench --sweep threads=...`` report."""
    curves: dict[str, list[tuple[int, float]]] = {}
    for point in report.sweep:
        if point.parameter != "threads":
            continue
        for name, result in point.loaders.items():
            curves.setdefault(name, []).append((point.value, result.images_per_s))
    return curves


def save(fig: Any, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=DPI)
    return target
