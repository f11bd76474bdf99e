"""``tune``: the grid, its planning within the budget, the CPU budget, the tuned file, plots."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import torch

from dali_pipelines.bench.tune import (
    Point,
    TuneConfig,
    TuneResult,
    _ranked,
    tune,
    tuned_settings,
)
from dali_pipelines.bench.tune_grid import Estimate, default_threads, grid, plan
from dali_pipelines.errors import DaliPipelinesError
from dali_pipelines.loader.config import LoaderConfig
from dali_pipelines.loader.tuning import read_tuned, write_tuned
from dali_pipelines.spec import load_spec


class FakeLoader:
    """Batches whose time per image falls with threads (sleeps: no CPU used)."""

    def __init__(self, num_threads: int, batch_size: int, **_: Any) -> None:
        self.threads, self.batch_size = num_threads, batch_size

    def __len__(self) -> int:
        return 3

    def __iter__(self) -> Any:
        for _ in range(3):
            time.sleep(0.002 * self.batch_size / self.threads)
            yield torch.zeros(self.batch_size, 1)


def _config(folder: Path, **kwargs: Any) -> TuneConfig:
    base = {"data": folder, "spec": "imagenet_val", "threads": (1, 2), "prefetch": (2, 3)}
    return TuneConfig(**(base | {"batch_sizes": (4,)} | kwargs))


def test_default_threads() -> None:
    assert default_threads(1) == (1,)
    assert default_threads(6) == (1, 2, 4, 6)


def test_grid_starts_at_the_default_point_threads_first(jpeg_folder: Path) -> None:
    points = grid(_config(jpeg_folder), load_spec("imagenet_val"), cores=2)
    assert len(points) == 4
    assert points[0] == {
        "num_threads": 2, "prefetch_queue_depth": 3, "batch_size": 4, "python_placement": "auto"
    }  # fmt: skip
    assert points[1]["num_threads"] == 1  # one change, threads first


def test_plan_stops_at_the_budget(jpeg_folder: Path) -> None:
    candidates = grid(_config(jpeg_folder), load_spec("imagenet_val"), cores=2)
    config = _config(jpeg_folder)
    estimate = Estimate(probe_s=1.0, most=2, images=21)
    assert estimate.epoch_s(1) == 2.0  # unmeasured: perfect scaling from the probe
    assert len(plan(candidates, config, 1.0, estimate, least=2)) == 2  # the least
    assert len(plan(candidates, config, 100.0, estimate)) == 4
    full = _config(jpeg_folder, full=True)
    assert len(plan(candidates, full, 1.0, estimate)) == 4
    # 2 reps of (lead-in + timed epoch): 4.4 s at 2 threads, 8.4 s at 1
    assert [c["num_threads"] for c in plan(candidates, config, 9.0, estimate)] == [2, 2]
    estimate.add([Point(name="t1", settings={"num_threads": 1}, images_per_s=21.0)])
    assert estimate.epoch_s(1) == 1.0  # measured
    assert len(plan(candidates, config, 9.0, estimate)) == 2


def test_ranked_respects_the_cpu_budget() -> None:
    fast = Point(name="fast", settings={}, images_per_s=100, cpu_share=0.9)
    lean = Point(name="lean", settings={}, images_per_s=60, cpu_share=0.3)
    assert [p.name for p in _ranked([fast, lean], 1.0)] == ["fast", "lean"]
    assert [p.name for p in _ranked([fast, lean], 0.4)] == ["lean"]
    with pytest.raises(DaliPipelinesError, match=r"cpu_budget: expected .* 0.10 .* got 0.30"):
        _ranked([fast, lean], 0.1)


def test_tune_recommends_the_fastest_and_writes_a_file_the_loader_takes(
    jpeg_folder: Path, tmp_path: Path
) -> None:
    result = tune(_config(jpeg_folder, budget=30.0), make_loader=FakeLoader)
    assert result.planned == result.grid == 4
    assert result.recommended.settings["num_threads"] == 2
    assert result.runner_up is not None
    assert {p.name for p in result.points} == {"t2-p3-b4", "t1-p3-b4", "t2-p2-b4", "t1-p2-b4"}
    assert all(0 <= p.cpu_share < 0.5 for p in result.points)  # sleeping uses no CPU
    settings, measured = tuned_settings(result)
    path = write_tuned(tmp_path / "tuned.yaml", settings, measured, "header")
    tuned = read_tuned(path, frozenset(LoaderConfig.model_fields))
    assert tuned.settings == settings
    assert tuned.measured["spec_fingerprint"] == load_spec("imagenet_val").fingerprint
    assert tuned.measured["images_per_s"] > 0


def test_gpu_notes_hw_decoder_load(jpeg_folder: Path) -> None:
    from dali_pipelines.bench.tune import _notes

    assert "hw_decoder_load" in _notes(_config(jpeg_folder, device="gpu"))[0]
    assert _notes(_config(jpeg_folder)) == []


def test_plots(tmp_path: Path, jpeg_folder: Path) -> None:
    pytest.importorskip("matplotlib")
    from dali_pipelines.bench.tune_plot import (
        ideal_line,
        save,
        stages_figure,
        threads_figure,
        tune_curve,
    )

    assert ideal_line([(2, 300.0), (1, 200.0), (4, 500.0)]) == [(1, 200.0), (2, 400.0), (4, 800.0)]
    fig = threads_figure({"dali": [(1, 200.0), (2, 380.0)]}, "threads")
    lines = fig.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in lines] == [[200.0, 380.0], [200.0, 400.0]]
    assert save(fig, tmp_path / "threads.png").stat().st_size > 0
    stages = {"dali": {"read": 0.1, "decode": 0.6}, "reference": {"read": 0.1, "decode": 1.2}}
    fig = stages_figure(stages, "per stage")
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [0.1, 0.1, 0.6, 1.2]
    assert save(fig, tmp_path / "stages.png").stat().st_size > 0
    points = [
        Point(name=f"t{t}", settings={"num_threads": t}, images_per_s=r)
        for t, r in ((1, 100.0), (2, 150.0), (2, 190.0))
    ]
    result = TuneResult.model_construct(points=points)
    assert tune_curve(result) == {"dali": [(1, 100.0), (2, 190.0)]}


def test_report_curves_from_a_threads_sweep() -> None:
    from dali_pipelines.bench.report import BenchReport, LoaderResult, SweepPoint
    from dali_pipelines.bench.tune_plot import report_curves

    def point(parameter: str, value: int, rate: float) -> SweepPoint:
        result = LoaderResult.model_construct(images_per_s=rate)
        return SweepPoint.model_construct(
            parameter=parameter, value=value, loaders={"dali": result}
        )

    sweep = [point("threads", 1, 100.0), point("threads", 2, 180.0), point("batch_size", 8, 1.0)]
    report = BenchReport.model_construct(sweep=sweep)
    assert report_curves(report) == {"dali": [(1, 100.0), (2, 180.0)]}
