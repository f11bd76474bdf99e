"""``LoaderStats``: the stall statistic the bench reports and ``loader.stats`` will expose."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dali_pipelines.loader.stats import LoaderStats, percentile


@given(st.lists(st.floats(0, 1e3, allow_nan=False), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_matches_numpy(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-9)


def test_percentile_edges() -> None:
    assert percentile([], 50) == 0.0
    with pytest.raises(ValueError, match="q: expected"):
        percentile([1.0], 101)


def test_summary_totals_every_batch_and_windows_the_percentiles() -> None:
    stats = LoaderStats(window=3)
    for wait in (1.0, 0.001, 0.002, 0.003):
        stats.record_wait(wait)
    summary = stats.summary()
    assert (summary.batches, stats.batches) == (4, 4)
    assert summary.total_s == pytest.approx(1.006) == stats.total_wait_s
    assert summary.mean_ms == pytest.approx(251.5)
    assert summary.max_ms == pytest.approx(1000.0)  # the max is over every batch
    assert summary.p50_ms == pytest.approx(2.0)  # percentiles over the last 3 waits
    assert summary.fraction_of(2.012) == pytest.approx(0.5)
    assert summary.fraction_of(0.0) == 0.0
    assert "batches=4" in repr(stats)
    stats.reset()
    assert stats.summary().batches == 0 and stats.summary().mean_ms == 0.0


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="window"):
        LoaderStats(window=0)
    with pytest.raises(ValueError, match="seconds"):
        LoaderStats().record_wait(-1.0)
