"""``loader.profile`` on a real loader: the critical stages partition an epoch's wall time, the
detailed mode's spans and torch.profiler ranges, ``loader.stats.stages()``, and batches that
do not depend on profiling."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.availability import dali_available
from dali_pipelines.backends.profile import CRITICAL, Profile
from dali_pipelines.errors import LoaderConfigError
from dali_pipelines.loader.iteration import NEXT_RANGE

pytestmark = pytest.mark.integration
needs_dali = pytest.mark.skipif(not dali_available(), reason="needs DALI")

SPEC: dict[str, Any] = {
    "ops": [
        {"op": "random_resized_crop", "size": [32, 32]},
        {"op": "horizontal_flip", "p": 0.5},
        {"op": "normalize", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
    ]
}
#: The consumer's own time per batch: ``step`` must see it.
STEP_S = 0.05  # with batches of 2, epochs of ~0.6 s: GIL waits under load stay under 10%


def _loader(folder: Path, **kwargs: Any) -> DataLoader:
    arguments: dict[str, Any] = {"batch_size": 4, "seed": 3, "num_threads": 2, **kwargs}
    return DataLoader(ImageFolder(folder), SPEC, **arguments)


@pytest.mark.parametrize(
    "backend", [pytest.param("dali", marks=needs_dali), pytest.param("reference")]
)
def test_critical_stages_add_up_to_the_epoch(jpeg_folder: Path, backend: str) -> None:
    """Each epoch's critical stages sum to within 10% of the wall time the test measures
    around its loop (the first epoch includes starting the executor)."""
    # Batches of 2 (11 a epoch): the consumer's thread waits for the GIL between stages under
    # a loaded machine (measured: ~25 ms an epoch in CI), which no stage records; longer
    # epochs keep that a small share, as on real data.
    with _loader(jpeg_folder, backend=backend, python_workers=0, batch_size=2) as loader:
        for epoch in range(2):
            began = time.perf_counter()
            for _ in loader:
                time.sleep(STEP_S)
            wall = time.perf_counter() - began
            snapshot = loader.profile.epochs[epoch]
            parts = {s: round(snapshot.seconds(s), 4) for s in CRITICAL}
            assert abs(snapshot.critical_s - wall) <= 0.1 * wall, (wall, parts)
            assert abs(snapshot.wall_s - wall) <= 0.1 * wall, (wall, snapshot.wall_s)
            assert snapshot.seconds("step") >= STEP_S * len(loader)
            assert snapshot.images == 21 and snapshot.batches == len(loader)


@needs_dali
def test_detailed_mode_spans_threads_and_torch_profiler(jpeg_folder: Path) -> None:
    with _loader(jpeg_folder, backend="dali", profile="detailed") as loader:
        assert loader.profile.detailed
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            batches = sum(1 for _ in loader)
        assert batches == len(loader)
    names = {event.name for event in prof.events()}
    for stage in ("graph", "assemble", "contract"):
        assert f"dali_pipelines.{stage}" in names, sorted(n for n in names if "dali" in n)
    assert NEXT_RANGE in names
    spans = list(loader.profile.spans)
    threads = {span.thread for span in spans}
    assert threading.current_thread().name in threads and len(threads) >= 2, threads
    assert {"read", "probe", "draw", "graph", "step"} <= {span.stage for span in spans}


def test_counters_keep_no_spans(jpeg_folder: Path) -> None:
    with _loader(jpeg_folder, backend="reference", python_workers=0) as loader:
        assert loader.stats.stages() is None  # nothing profiled yet
        iterator = iter(loader)
        next(iterator)
        current = loader.stats.stages()
        assert current is not None and current.batches == 1
        for _ in iterator:
            pass
        last = loader.stats.stages()
        assert last is loader.profile.epochs[0] and last.batches == len(loader)
        assert not loader.profile.detailed and not loader.profile.spans
        assert loader.stats.summary().batches == len(loader)  # the wait statistic stays


def test_an_epoch_cut_short_is_closed(jpeg_folder: Path) -> None:
    with _loader(jpeg_folder, backend="reference", python_workers=0) as loader:
        for _ in loader:
            break
        iter(loader)  # ends the first iteration
        assert loader.profile.epochs[0].batches == 1
        assert loader.profile.current_epoch() is None


def test_profile_argument_is_validated(jpeg_folder: Path) -> None:
    with pytest.raises(LoaderConfigError, match="profile: expected 'counters' or 'detailed'"):
        _loader(jpeg_folder, profile="all")


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


@needs_dali
def test_batches_do_not_depend_on_profiling(
    jpeg_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counters, detailed, and a profile that records nothing: bitwise the same batches."""

    def run(profile: str) -> list[tuple[torch.Tensor, ...]]:
        with _loader(jpeg_folder, backend="dali", shuffle=True, profile=profile) as loader:
            return [tuple(t.clone() for t in batch) for _ in range(2) for batch in loader]

    counters, detailed = run("counters"), run("detailed")
    for name in ("add", "record", "merge", "queue", "batch_done", "start_epoch"):
        monkeypatch.setattr(Profile, name, _noop)
    silent = run("counters")
    assert len(counters) == len(detailed) == len(silent) == 12
    for a, b, c in zip(counters, detailed, silent):
        for x, y, z in zip(a, b, c):
            assert torch.equal(x, y) and torch.equal(x, z)
