"""Chrome traces: the Trace Event Format's structure, one track per thread, one epoch."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from dali_pipelines.backends.profile import Profile, Span
from dali_pipelines.loader.observe import chrome_trace


def _load(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {"traceEvents", "displayTimeUnit"}
    return list(data["traceEvents"])


def _tracks(events: list[dict[str, Any]]) -> dict[str, int]:
    return {e["args"]["name"]: e["tid"] for e in events if e["name"] == "thread_name"}


def test_trace_structure_and_microseconds(tmp_path: Path) -> None:
    profile = Profile(detailed=True)
    profile.spans.extend(
        [
            Span("graph", 10.0, 0.002, "MainThread"),
            Span("read", 10.0005, 0.001, "feed"),
            Span("assemble", 10.002, 0.0005, "MainThread"),
        ]
    )
    events = _load(chrome_trace(profile, tmp_path / "trace.json"))
    meta = [e for e in events if e["ph"] == "M"]
    spans = [e for e in events if e["ph"] == "X"]
    assert {e["name"] for e in meta} == {"process_name", "thread_name", "thread_sort_index"}
    assert all(set(e) >= {"name", "ph", "ts", "dur", "pid", "tid", "cat"} for e in spans)
    assert [e["name"] for e in spans] == ["graph", "read", "assemble"]  # by start
    graph, read, assemble = spans
    assert (graph["ts"], graph["dur"]) == (0.0, 2000.0)
    assert read["ts"] == pytest.approx(500.0) and read["dur"] == pytest.approx(1000.0)
    assert assemble["ts"] == pytest.approx(2000.0)
    assert (graph["cat"], read["cat"]) == ("critical", "background")
    assert len({e["pid"] for e in events}) == 1
    # The consumer's thread (critical stages) is the first track.
    assert _tracks(events) == {"MainThread": 1, "feed": 2}
    assert graph["tid"] == assemble["tid"] == 1 and read["tid"] == 2


def test_spans_of_two_threads_land_on_two_tracks(tmp_path: Path) -> None:
    profile = Profile(detailed=True)

    def feed() -> None:
        for _ in range(3):
            with profile.span("read", nbytes=10):
                pass

    worker = threading.Thread(target=feed, name="feed-thread")
    worker.start()
    worker.join()
    with profile.span("graph"):
        pass
    path = chrome_trace(profile, tmp_path / "trace.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as file:
        events = json.load(file)["traceEvents"]
    tracks = _tracks(events)
    main = threading.current_thread().name
    assert set(tracks) == {main, "feed-thread"}
    by_tid = {e["tid"] for e in events if e["ph"] == "X" and e["name"] == "read"}
    assert by_tid == {tracks["feed-thread"]}
    assert {e["tid"] for e in events if e["name"] == "graph"} == {tracks[main]}


def test_counters_only_profile_has_no_trace(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected detailed=True for a trace, got counters only"):
        chrome_trace(Profile(), tmp_path / "trace.json")
    assert not (tmp_path / "trace.json").exists()


def test_trace_of_one_epoch(tmp_path: Path) -> None:
    profile = Profile(detailed=True)
    for epoch in range(2):
        profile.start_epoch(epoch)
        with profile.span("graph"):
            pass
        profile.batch_done(1)
        snapshot = profile.end_epoch()
        assert snapshot is not None
    events = _load(chrome_trace(profile, tmp_path / "one.json", epoch=1))
    (span,) = [e for e in events if e["ph"] == "X"]
    assert span["ts"] == 0.0
    assert (
        len([e for e in _load(chrome_trace(profile, tmp_path / "all.json")) if e["ph"] == "X"]) == 2
    )
    with pytest.raises(ValueError, match=r"expected one of the profiled epochs \[0, 1\], got 5"):
        chrome_trace(profile, tmp_path / "x.json", epoch=5)
