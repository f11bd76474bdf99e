"""The plot explains itself: rendered at its default size, every title, label and legend lies
inside the figure and clear of the panels, and the legend says what each loader is (from the same
table as the markdown and the terminal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dali_pipelines.bench import BenchReport, legend
from dali_pipelines.bench.loaders import LOADERS
from dali_pipelines.bench.markdown import render_markdown

from .test_render import train_sweep_report  # noqa: F401

pytest.importorskip("matplotlib")

from dali_pipelines.bench.plot import make_figure, short_cpu, subtitle, title, write_plot
from dali_pipelines.bench.plot_layout import wrap

LONG_CPU = (
    "Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz with a name nobody shortened, as long as a "
    "whole line of text on its own"
)


def _long_named(report: BenchReport, **update: Any) -> BenchReport:
    env = report.env.model_copy(update={"cpu_model": LONG_CPU, "gpu": "NVIDIA H200 141GB HBM3e"})
    return report.model_copy(update={"env": env, "spec_name": "a_spec_with_a_long_name", **update})


def _texts(fig: Any) -> dict[str, Any]:
    """The figure's frame texts and every axes' title and labels, by a readable key."""
    out = {f"figure text {i}": text for i, text in enumerate(fig.texts)}
    for i, ax in enumerate(a for a in fig.axes if a.get_visible()):
        out[f"axes {i} title"] = ax.title
        out[f"axes {i} ylabel"] = ax.yaxis.label
        out[f"axes {i} xlabel"] = ax.xaxis.label
    return out


@pytest.mark.parametrize("kind", ["sweep", "single", "audio"])
def test_frame_fits_at_the_default_size(
    train_sweep_report: BenchReport,  # noqa: F811
    kind: str,
) -> None:
    report = {
        "sweep": _long_named(train_sweep_report),
        "single": _long_named(train_sweep_report, sweep=[], ideal=None, train=None),
        "audio": _long_named(train_sweep_report, sweep=[], modality="audio"),
    }[kind]
    fig = make_figure(report)
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    box = fig.bbox
    texts = _texts(fig)
    assert [t.get_text() for t in fig.texts[:1]] == [title(report)]
    for name, text in texts.items():
        extent = text.get_window_extent(renderer)
        assert text.get_text(), name
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1, name
        assert box.y0 <= extent.y0 and extent.y1 <= box.y1, name
    (fig_legend,) = fig.legends
    legend_box = fig_legend.get_window_extent(renderer)
    assert box.x0 <= legend_box.x0 and legend_box.x1 <= box.x1
    assert box.y0 <= legend_box.y0 and legend_box.y1 <= box.y1
    panels = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
    header_bottom = min(t.get_window_extent(renderer).y0 for t in fig.texts)
    assert all(p.y1 <= header_bottom for p in panels)  # titles above every panel
    assert all(legend_box.y1 <= p.y0 for p in panels)  # the legend below them
    # The machine's details are in the subtitle, in a smaller font than the title.
    assert "Intel Xeon Platinum 8480+" in fig.texts[1].get_text()
    assert fig.texts[1].get_fontsize() < fig.texts[0].get_fontsize()
    labels = [t.get_text().replace("\n", " ") for t in fig_legend.get_texts()]
    assert labels == [f"{name}: {text}" for name, text in legend.entries(report)]


def test_axes_have_units(train_sweep_report: BenchReport) -> None:  # noqa: F811
    fig = make_figure(train_sweep_report)
    bars, *sweeps = [ax for ax in fig.axes if ax.get_visible()]
    assert bars.get_ylabel().startswith("training-step images/s (median of 2 reps")
    assert [ax.get_xlabel() for ax in sweeps] == [
        "DALI threads = DataLoader workers",
        "batch size (samples per batch, log scale)",
    ]
    audio = train_sweep_report.model_copy(update={"modality": "audio", "sweep": []})
    (bars,) = [ax for ax in make_figure(audio).axes if ax.get_visible()]
    assert bars.get_ylabel().startswith("training-step samples/s")


def test_title_and_subtitle(train_sweep_report: BenchReport) -> None:  # noqa: F811
    report = _long_named(train_sweep_report)
    assert title(report).startswith("a_spec_with_a_long_name, training step (tiny): DALI ")
    assert title(report).endswith("x the PIL baseline")
    first, second = subtitle(report).split("\n")
    assert first.startswith("batch 4, 2 DALI threads = DataLoader workers, ")
    assert second.startswith("Intel Xeon Platinum 8480+ CPU @ 2.00GHz with a name nobody shortened")
    assert "NVIDIA H200 141GB HBM3e" in second


@pytest.mark.parametrize(
    ("model", "short"),
    [
        ("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", "Intel Xeon Gold 6338"),
        ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763 64-Core"),
        ("Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz", "Intel Core i7-9750H"),
        ("aarch64", "aarch64"),
    ],
)
def test_short_cpu(model: str, short: str) -> None:
    assert short_cpu(model) == short


def test_wrap_measures_lines() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    renderer = FigureCanvasAgg(Figure(dpi=110)).get_renderer()
    text = " ".join(f"word{i}" for i in range(60)) + "\nkept break"
    wrapped = wrap(text, 9, 200, renderer)
    lines = wrapped.split("\n")
    assert len(lines) > 5 and lines[-1] == "kept break"
    assert " ".join(lines[:-1]) == text.split("\n")[0]  # no word lost or split
    prop = FontProperties(size=9)
    widths = [renderer.get_text_width_height_descent(line, prop, ismath=False)[0] for line in lines]
    assert max(widths) <= 200
    assert wrap("unbreakable" * 10, 9, 50, renderer) == "unbreakable" * 10


def test_every_registered_loader_is_described() -> None:
    for name, choice in LOADERS.items():
        for modality in choice.modalities:
            assert legend.describe(name, modality) != legend.UNLISTED, (name, modality)
    assert "PIL" in legend.describe("reference", "image")
    assert "soundfile" in legend.describe("reference", "audio")
    assert legend.describe("not-registered") == legend.UNLISTED


def test_markdown_and_plot_describe_loaders_alike(
    train_sweep_report: BenchReport,  # noqa: F811
    tmp_path: Path,
) -> None:
    text = render_markdown(train_sweep_report)
    for line in legend.lines(train_sweep_report):
        assert f"- {line}\n" in text
    assert "- ideal: the same training steps on batches replayed from memory" in text
    assert write_plot(train_sweep_report, tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
