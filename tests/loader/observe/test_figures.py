"""The figures every view shows, from a snapshot and from a profile's window."""

from __future__ import annotations

import pytest

from dali_pipelines.backends.profile import STAGES, Profile, ProfileSnapshot
from dali_pipelines.loader.observe.figures import WindowSampler, figures


def test_figures_of_a_snapshot(known: ProfileSnapshot) -> None:
    reading = figures(known)
    assert reading.ms_per_image["graph"] == pytest.approx(5.0)
    assert reading.ms_per_image["python"] == pytest.approx(30.0)
    assert reading.share["step"] == pytest.approx(0.7)
    assert reading.share["python"] == pytest.approx(1.5)  # busy time over threads: past 1
    assert reading.stall == pytest.approx(0.3)  # graph + assemble, not the step
    assert reading.images_per_s == pytest.approx(50.0)
    assert reading.cpu_ms_per_image == pytest.approx(30.0)
    assert reading.scalars()["peak_rss_mb"] == pytest.approx(512.0)
    record = reading.record()
    assert set(record["ms_per_image"]) == set(STAGES) and record["stall"] == pytest.approx(0.3)
    assert record["queues"] == {"read_ahead": {"mean": 1.5, "max": 3}}
    scalars = reading.scalars()
    assert (scalars["queue/read_ahead/mean"], scalars["queue/read_ahead/max"]) == (1.5, 3.0)


def test_empty_snapshot_reads_zeros() -> None:
    reading = figures(Profile().recent())
    assert reading.stall == reading.images_per_s == reading.cpu_ms_per_image == 0.0
    assert all(v == 0.0 for v in reading.share.values())


def test_window_sampler_reads_the_window_and_cpu_between_samples() -> None:
    profile = Profile(window=2)
    sampler = WindowSampler()
    assert sampler.sample(profile).cpu_ms_per_image == 0.0  # outside an epoch
    profile.start_epoch(0)
    for _ in range(3):
        profile.add("graph", 1.0)
        profile.batch_done(10)
    reading = sampler.sample(profile)
    assert reading.images == 20 and reading.ms_per_image["graph"] == pytest.approx(100.0)
    assert reading.cpu_ms_per_image >= 0.0
    sum(range(200_000))  # some CPU time between two samples
    profile.batch_done(10)
    assert sampler.sample(profile).cpu_ms_per_image >= 0.0
