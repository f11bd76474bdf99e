"""Each op family through the loader, DALI and the torchvision reference, one epoch each.

Every spec decodes the same demo images and ends at a fixed 224 px size; ``decode_crop`` is
decoding plus a center crop and nothing else, so an op family's cost is its epoch time minus
``decode_crop``'s on the same backend (pytest-benchmark's compare shows both over time).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.availability import dali_available
from dali_pipelines.bench.runner import time_epoch

BATCH_SIZE = 64
THREADS = 2
CROP = {"op": "center_crop", "size": [224, 224]}

#: family -> ops; each list yields a fixed 224x224 image.
FAMILIES: dict[str, list[dict[str, Any]]] = {
    "decode_crop": [CROP],
    "random_resized_crop": [{"op": "random_resized_crop", "size": [224, 224]}],
    "resize": [{"op": "resize", "size": 256}, CROP],
    "random_crop_pad": [{"op": "random_crop", "size": [224, 224], "padding": 16}],
    "pad": [{"op": "pad", "padding": 16}, CROP],
    "flips": [CROP, {"op": "horizontal_flip", "p": 0.5}, {"op": "vertical_flip", "p": 0.5}],
    "rotate": [CROP, {"op": "rotate", "degrees": 15}],
    "color_jitter": [
        CROP,
        {"op": "color_jitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1},
    ],
    "grayscale": [CROP, {"op": "grayscale", "num_output_channels": 3}],
    "gaussian_blur": [CROP, {"op": "gaussian_blur", "kernel_size": 5}],
    "normalize": [CROP, {"op": "normalize", "mean": [0.5] * 3, "std": [0.25] * 3}],
}


@pytest.fixture(scope="module", params=["dali", "reference"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "dali" and not dali_available():
        pytest.skip("DALI cannot be imported here")
    return str(request.param)


@pytest.fixture(params=list(FAMILIES))
def loader(request: pytest.FixtureRequest, backend: str, demo_root: Path) -> Iterator[DataLoader]:
    made = DataLoader(
        ImageFolder(demo_root),
        {"ops": FAMILIES[request.param]},
        batch_size=BATCH_SIZE,
        shuffle=True,
        seed=0,
        num_threads=THREADS,
        device="cpu",
        backend=backend,  # type: ignore[arg-type]
    )
    time_epoch(made)  # warm-up: pipeline build, worker start
    yield made
    made.close()


def test_op_family(benchmark: Any, loader: DataLoader, request: pytest.FixtureRequest) -> None:
    family = request.node.callspec.params["loader"]
    benchmark.group = f"ops: {family}"  # DALI and reference side by side in the tables
    timing = benchmark.pedantic(time_epoch, args=(loader,), rounds=3, iterations=1)
    benchmark.extra_info.update(
        backend=loader.backend, family=family, images_per_s=timing.images_per_s
    )
    assert timing.images == len(loader.dataset)
