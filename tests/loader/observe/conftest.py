"""Profiles with known figures: snapshots built by hand, spans added directly."""

from __future__ import annotations

import pytest

from dali_pipelines.backends.profile import STAGES, ProfileSnapshot, Stage, StageTotals


def snapshot(
    seconds: dict[Stage, float],
    *,
    images: int = 100,
    wall_s: float = 2.0,
    cpu_s: float = 3.0,
    peak_rss: int = 512 * 2**20,
    batches: int = 4,
    queues: dict[str, tuple[float, int]] | None = None,
) -> ProfileSnapshot:
    stages = {
        stage: StageTotals(seconds.get(stage, 0.0), 1 if stage in seconds else 0)
        for stage in STAGES
    }
    return ProfileSnapshot(stages, images, batches, wall_s, cpu_s, peak_rss, queues or {})


@pytest.fixture
def known() -> ProfileSnapshot:
    """2 s of wall time over 100 images: graph 0.5 s + assemble 0.1 s waiting, step 1.4 s;
    read 1.0 s and python 3.0 s busy in the background."""
    return snapshot(
        {"graph": 0.5, "assemble": 0.1, "step": 1.4, "read": 1.0, "python": 3.0},
        queues={"read_ahead": (1.5, 3)},
    )
