"""TensorBoard scalars, read back from the event files."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

from dali_pipelines.backends.profile import Profile
from dali_pipelines.loader.observe import TensorBoardExporter


def test_scalars_are_written_per_window_and_epoch(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    profile = Profile()
    exporter = TensorBoardExporter(tmp_path, every=2, prefix="data/")
    profile.start_epoch(0)
    for _ in range(4):
        profile.add("graph", 0.01)
        profile.batch_done(10)
        exporter.batch_done(profile)
    snapshot = profile.end_epoch()
    assert snapshot is not None
    exporter.epoch_done(profile, snapshot)
    exporter.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"data/stall", "data/images_per_s", "data/cpu_ms_per_image", "data/peak_rss_mb"} <= tags
    assert "data/ms_per_image/graph" in tags and "data/epoch/ms_per_image/graph" in tags
    graph = events.Scalars("data/ms_per_image/graph")
    assert [e.step for e in graph] == [2, 4]
    assert graph[0].value == pytest.approx(1.0)
    assert [e.step for e in events.Scalars("data/epoch/stall")] == [0]


def test_a_writer_given_is_flushed_not_closed() -> None:
    class Writer:
        def __init__(self) -> None:
            self.scalars: list[tuple[str, float, int]] = []
            self.flushed = self.closed = False

        def add_scalar(self, tag: str, value: float, step: int) -> None:
            self.scalars.append((tag, value, step))

        def flush(self) -> None:
            self.flushed = True

        def close(self) -> None:
            self.closed = True

    writer = Writer()
    profile = Profile()
    exporter = TensorBoardExporter(writer, every=1)  # type: ignore[arg-type]
    exporter.batch_done(profile)
    exporter.close()
    assert writer.flushed and not writer.closed
    assert ("loader/stall", 0.0, 1) in writer.scalars


def test_missing_tensorboard_names_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = builtins.__import__

    def no_tensorboard(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("torch.utils.tensorboard") or name.startswith("tensorboard"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ImportError, match="pip install tensorboard"):
        TensorBoardExporter(tmp_path)
