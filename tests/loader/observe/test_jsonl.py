"""JSON lines: one window record per N batches, one per epoch, flushed as written."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dali_pipelines.backends.profile import STAGES, Profile
from dali_pipelines.loader.observe import JsonlExporter


def _run(profile: Profile, exporter: JsonlExporter, *, epochs: int, batches: int) -> None:
    for epoch in range(epochs):
        profile.start_epoch(epoch)
        for _ in range(batches):
            profile.add("graph", 0.01)
            profile.add("step", 0.03)
            profile.add("read", 0.02, nbytes=100)
            profile.batch_done(8)
            exporter(profile)  # a plain callback
        snapshot = profile.end_epoch()
        assert snapshot is not None
        exporter.epoch_done(profile, snapshot)


def test_records_every_n_batches_and_per_epoch(tmp_path: Path) -> None:
    path = tmp_path / "loader.jsonl"
    profile = Profile(window=2)
    with JsonlExporter(path, every=3) as exporter:
        _run(profile, exporter, epochs=2, batches=4)
        # Flushed as written: the file is complete before close.
        lines = path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [(r["kind"], r["epoch"], r["batch"]) for r in records] == [
        ("window", 0, 3),
        ("epoch", 0, 4),
        ("window", 1, 6),
        ("epoch", 1, 8),
    ]
    window, epoch = records[0], records[1]
    assert (window["images"], window["batches"]) == (16, 2)  # the profile's window of 2
    assert set(window["ms_per_image"]) == set(STAGES)
    assert window["ms_per_image"]["graph"] == pytest.approx(1.25)
    assert window["ms_per_image"]["read"] == pytest.approx(2.5)
    assert (epoch["images"], epoch["batches"]) == (32, 4)
    for record in records:
        assert set(record) >= {"time", "stall", "images_per_s", "cpu_ms_per_image", "peak_rss_mb"}
        assert record["peak_rss_mb"] > 0


def test_a_stream_is_flushed_not_closed_and_append_keeps_lines(tmp_path: Path) -> None:
    stream = io.StringIO()
    profile = Profile()
    exporter = JsonlExporter(stream, every=1)
    profile.start_epoch(0)
    profile.batch_done(2)
    exporter.batch_done(profile)
    exporter.close()
    assert not stream.closed and json.loads(stream.getvalue())["batch"] == 1
    path = tmp_path / "a.jsonl"
    for _ in range(2):
        with JsonlExporter(path, every=1, append=True) as appended:
            appended.batch_done(profile)
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2


def test_every_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="every: expected >= 1, got 0"):
        JsonlExporter(tmp_path / "x.jsonl", every=0)
