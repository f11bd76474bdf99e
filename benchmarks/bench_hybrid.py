"""One epoch of imagenet_train with a cheap registered Python op, inline and in workers.

Tracks the cost of a Python stage over time (pytest-benchmark); the head-to-head ratios with
interleaved repetitions are ``benchmarks/hybrid_ratio.py``'s job (figures: docs/hybrid.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dali_pipelines import DataLoader, ImageFolder, register_python_op, registered_python_ops
from dali_pipelines.availability import dali_available
from dali_pipelines.bench.runner import time_epoch

THREADS = 2
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

if "bench_suite_swap" not in registered_python_ops():

    @register_python_op("bench_suite_swap")
    def channel_swap(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.ascontiguousarray(image[:, :, ::-1])


SWAP_AFTER_RESIZE = {
    "ops": [
        {"op": "random_resized_crop", "size": [224, 224]},
        {"op": "python", "name": "bench_suite_swap"},
        {"op": "horizontal_flip", "p": 0.5},
        {"op": "normalize", "mean": MEAN, "std": STD},
    ]
}
CASES: dict[str, tuple[Any, str]] = {
    "baseline": ("imagenet_train", "auto"),
    "swap_inline": (SWAP_AFTER_RESIZE, "inline"),
    "swap_workers": (SWAP_AFTER_RESIZE, "workers"),
}


@pytest.fixture(scope="module", params=list(CASES))
def warm_loader(request: pytest.FixtureRequest, demo_root: Path) -> Iterator[DataLoader]:
    if not dali_available():
        pytest.skip("DALI cannot be imported here")
    spec, placement = CASES[request.param]
    loader = DataLoader(
        ImageFolder(demo_root),
        spec,
        batch_size=64,
        shuffle=True,
        num_threads=THREADS,
        python_workers=THREADS,
        python_placement=placement,  # type: ignore[arg-type]
        device="cpu",
    )
    time_epoch(loader)  # warm-up: pipeline build and worker start are not what we track
    yield loader
    loader.close()


def test_epoch_with_python_stage(benchmark: Any, warm_loader: DataLoader) -> None:
    timing = benchmark.pedantic(time_epoch, args=(warm_loader,), rounds=3, iterations=1)
    benchmark.extra_info["placement"] = warm_loader.ops_placement.mode
    benchmark.extra_info["images_per_s"] = timing.images_per_s
    assert timing.images == len(warm_loader.dataset)
