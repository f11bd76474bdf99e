"""Integration: the observers on a real DataLoader's profile over generated JPEGs."""

from __future__ import annotations

import inspect
import json
import threading
from pathlib import Path

import pytest

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.loader.observe import attach, chrome_trace, figures, render_text

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        "profile" not in inspect.signature(DataLoader.__init__).parameters,
        reason="DataLoader(profile=...) is not wired yet",
    ),
]

SMALL = {"ops": [{"op": "random_resized_crop", "size": [32, 32]}]}


def test_jsonl_trace_and_table_of_a_real_loader(jpeg_folder: Path, tmp_path: Path) -> None:
    with DataLoader(
        ImageFolder(jpeg_folder), SMALL, batch_size=4, num_threads=1, profile="detailed"
    ) as loader:
        observers = attach(loader, jsonl=tmp_path / "loader.jsonl", every=2)
        for epoch in range(2):
            loader.set_epoch(epoch)
            assert len(list(observers.epoch(loader))) == 6  # 21 images by 4
        observers.close()
        profile = loader.profile
    assert sorted(profile.epochs) == [0, 1]
    snapshot = profile.epochs[1]
    assert (snapshot.images, snapshot.batches) == (21, 6)
    assert snapshot.seconds("graph") > 0 and snapshot.peak_rss > 0
    assert 0 < figures(snapshot).stall <= 1.0 + 1e-6
    assert "graph" in render_text(figures(snapshot))
    records = [json.loads(line) for line in (tmp_path / "loader.jsonl").open()]
    assert [r["kind"] for r in records].count("epoch") == 2
    assert "read_ahead" in records[-1]["queues"]  # the DALI source samples its read-ahead
    assert [r["batch"] for r in records if r["kind"] == "window"] == [2, 4, 6, 8, 10, 12]
    trace = json.loads(chrome_trace(profile, tmp_path / "t.json", epoch=1).read_text())
    tracks = {
        e["args"]["name"]: e["tid"] for e in trace["traceEvents"] if e["name"] == "thread_name"
    }
    main = tracks[threading.current_thread().name]
    graph = [e for e in trace["traceEvents"] if e["ph"] == "X" and e["name"] == "graph"]
    assert graph and {e["tid"] for e in graph} == {main}
