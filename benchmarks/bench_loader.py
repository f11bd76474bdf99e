"""One epoch of each backend on the demo data, and the timing loop's own overhead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.availability import dali_available
from dali_pipelines.bench.runner import time_epoch

BATCH_SIZE = 64
THREADS = 2


@pytest.fixture(scope="module", params=["dali", "reference"])
def warm_loader(request: pytest.FixtureRequest, demo_root: Path) -> Iterator[DataLoader]:
    backend = request.param
    if backend == "dali" and not dali_available():
        pytest.skip("DALI cannot be imported here")
    loader = DataLoader(
        ImageFolder(demo_root),
        "imagenet_train",
        batch_size=BATCH_SIZE,
        shuffle=True,
        seed=0,
        num_threads=THREADS,
        device="cpu",
        backend=backend,
    )
    time_epoch(loader)  # warm-up: pipeline build / worker start are not what we track
    yield loader
    loader.close()


def test_epoch(benchmark: Any, warm_loader: DataLoader) -> None:
    timing = benchmark.pedantic(time_epoch, args=(warm_loader,), rounds=3, iterations=1)
    benchmark.extra_info["backend"] = warm_loader.backend
    benchmark.extra_info["images"] = timing.images
    benchmark.extra_info["images_per_s"] = timing.images_per_s
    assert timing.images == len(warm_loader.dataset)


def test_runner_overhead(benchmark: Any) -> None:
    """time_epoch over ready-made batches: what the harness itself adds per batch."""
    batches = [(torch.zeros(64, 3, 8, 8), torch.zeros(64, dtype=torch.int64))] * 1000
    timing = benchmark(time_epoch, batches)
    assert timing.batches == 1000
