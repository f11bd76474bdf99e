"""The report as a rich table, a markdown page and a PNG: every loader and figure shows up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console

from dali_pipelines.bench import BenchReport, run_bench
from dali_pipelines.bench.markdown import render_markdown
from dali_pipelines.bench.render import PIPE_WIDTH, RichProgress, print_report, widened

from .test_report import FakeLoader, config, fake_loaders, install_fakes  # noqa: F401


@pytest.fixture(scope="module")
def train_sweep_report(jpeg_folder: Path) -> BenchReport:
    """Train mode with a sweep, made once: the richest report there is."""
    cfg = config(mode="train", reps=2, warmup=0, sweep={"threads": [1, 2], "batch_size": [2, 4]})
    with pytest.MonkeyPatch.context() as monkeypatch:
        install_fakes(monkeypatch)
        return run_bench(jpeg_folder, cfg, command="dali-pipelines bench --mode train")


def test_rich_table_and_headline(train_sweep_report: BenchReport) -> None:
    console = Console(record=True, width=160, force_terminal=False)
    print_report(train_sweep_report, console)
    text = console.export_text()
    for name in ("dali", "reference-tvio", "extra", "ideal"):
        assert name in text
    for phrase in ("img/s", "IQR", "p50/p99", "of ideal", "speedup DALI / PIL", "waited on"):
        assert phrase in text
    assert "sweep" in text and "batch_size" in text


def test_progress_shows_points_and_epochs(
    jpeg_folder: Path,
    fake_loaders: list[FakeLoader],  # noqa: F811
) -> None:
    console = Console(record=True, width=140, force_terminal=False)
    cfg = config(reps=1, warmup=0, sweep={"threads": [1]})
    with RichProgress(console, total_epochs=8) as progress:
        run_bench(jpeg_folder, cfg, observer=progress)
    text = console.export_text()
    assert "measuring threads=1" in text and re.search(r"reference-tvio +rep 1/1", text)


def test_pipes_get_wide_tables() -> None:
    narrow = Console(width=80, force_terminal=False)
    assert widened(narrow).width == PIPE_WIDTH
    terminal = Console(width=80, force_terminal=True)
    assert widened(terminal) is terminal


def test_markdown(train_sweep_report: BenchReport) -> None:
    text = render_markdown(train_sweep_report)
    assert text.startswith("## dali-pipelines bench: imagenet_train | training step (tiny)")
    assert "```bash\ndali-pipelines bench --mode train\n```" in text
    table = [line for line in text.splitlines() if line.startswith("|")]
    # header + alignment + 4 loaders + ideal, then the sweep's header + alignment + 4 points
    assert len(table) == 7 + 6
    assert table[1].startswith("|---|---|---:|")
    assert all(line.count("|") == table[0].count("|") for line in table[:7])
    assert "- speedup DALI / PIL baseline (reference):" in text


def test_plot_writes_a_png(train_sweep_report: BenchReport, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from PIL import Image

    from dali_pipelines.bench.plot import write_plot

    path = write_plot(train_sweep_report, tmp_path / "plots" / "bench.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert 0.9 * width < 1.25 * height < 1.1 * width  # bars, threads, batch_size on a 2x2 grid


def test_noisy_figures_are_flagged(train_sweep_report: BenchReport) -> None:
    from dali_pipelines.bench.summary import headline, noisy_loaders

    dali = train_sweep_report.dali.model_copy(
        update={"images_per_s": 100.0, "images_per_s_iqr": 40.0}
    )
    loaders = {**train_sweep_report.loaders, "dali": dali}
    noisy = train_sweep_report.model_copy(update={"loaders": loaders})
    assert noisy_loaders(noisy)["dali"] == pytest.approx(0.4)
    assert any(
        line.startswith("noisy: the IQR is 40% of the median for dali") for line in headline(noisy)
    )
