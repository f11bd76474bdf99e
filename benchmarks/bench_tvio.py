"""One epoch of the ``reference-tvio`` baseline (torchvision.io decoding), as bench_loader.py
times the DALI and PIL-reference loaders: all three loaders of ``dali-pipelines bench``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dali_pipelines import DataLoader, ImageFolder, load_spec
from dali_pipelines.bench.runner import time_epoch

BATCH_SIZE = 64
THREADS = 2


@pytest.fixture(scope="module")
def tvio_loader(demo_root: Path) -> Iterator[DataLoader]:
    loader = DataLoader(
        ImageFolder(demo_root),
        load_spec("imagenet_train"),
        batch_size=BATCH_SIZE,
        shuffle=True,
        seed=0,
        num_threads=THREADS,
        backend="reference-tvio",
    )
    time_epoch(loader)  # warm-up: worker start
    yield loader
    loader.close()


def test_epoch_tvio(benchmark: Any, tvio_loader: DataLoader) -> None:
    timing = benchmark.pedantic(time_epoch, args=(tvio_loader,), rounds=3, iterations=1)
    benchmark.extra_info["backend"] = "reference-tvio"
    benchmark.extra_info["images"] = timing.images
    benchmark.extra_info["images_per_s"] = timing.images_per_s
