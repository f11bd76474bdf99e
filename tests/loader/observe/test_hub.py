"""attach() and Observers: the callback protocol a loader (or a loop) drives."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from dali_pipelines.backends.profile import Profile, ProfileSnapshot
from dali_pipelines.loader.observe import Observer, Observers, attach, chrome_trace


class FakeLoader:
    """A loader's profile calls around its batches, as the DataLoader makes them."""

    def __init__(self) -> None:
        self.profile = Profile(detailed=True)
        self.epoch = 0

    def __iter__(self) -> Iterator[int]:
        self.profile.start_epoch(self.epoch)
        for batch in range(5):
            with self.profile.span("graph"):
                pass
            self.profile.batch_done(4)
            yield batch
        self.profile.end_epoch()
        self.epoch += 1


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def batch_done(self, profile: Profile) -> None:
        self.calls.append("batch")

    def epoch_done(self, profile: Profile, snapshot: ProfileSnapshot) -> None:
        assert profile.epochs[len(profile.epochs) - 1] is snapshot
        self.calls.append(f"epoch {snapshot.batches}")

    def close(self) -> None:
        self.calls.append("close")


def test_epoch_reports_batches_then_the_epoch(tmp_path: Path) -> None:
    loader = FakeLoader()
    recorder = Recorder()
    assert isinstance(recorder, Observer)
    with attach(loader, jsonl=tmp_path / "loader.jsonl", every=2) as observers:
        observers.add(recorder)
        for _ in range(2):
            assert list(observers.epoch(loader)) == [0, 1, 2, 3, 4]
    assert recorder.calls == [*["batch"] * 5, "epoch 5", *["batch"] * 5, "epoch 5", "close"]
    kinds = [json.loads(line)["kind"] for line in (tmp_path / "loader.jsonl").open()]
    assert kinds == ["window", "window", "epoch", "window", "window", "window", "epoch"]
    # The epochs' bounds were noted: a trace of one epoch holds its 5 spans.
    trace = json.loads(chrome_trace(loader.profile, tmp_path / "t.json", epoch=1).read_text())
    assert len([e for e in trace["traceEvents"] if e["ph"] == "X"]) == 5


def test_a_failing_observer_is_logged_and_dropped(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Recorder):
        def batch_done(self, profile: Profile) -> None:
            raise RuntimeError("boom")

    recorder = Recorder()
    observers = Observers(Profile(), [Broken(), recorder])
    with caplog.at_level(logging.ERROR):
        observers.batch_done()
        observers.batch_done()
    assert recorder.calls == ["batch", "batch"] and len(observers.observers) == 1
    assert "failed in batch_done; dropped" in caplog.text


def test_attach_needs_a_profile() -> None:
    with pytest.raises(TypeError, match="expected a DataLoader with a profile or a Profile, got"):
        attach(object())
    profile = Profile()
    hub = attach(profile)
    assert hub.profile is profile and hub.observers == []
