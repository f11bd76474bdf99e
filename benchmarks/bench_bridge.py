"""The hybrid bridge's cost: a per-sample Python op inside the DALI pipeline, inline (DALI's
python_function, holding the GIL) and in worker processes, against the same spec without it.

Skipped until ``dali_pipelines.bridge`` and the ``python`` op exist. The op is trivial (invert
the image) so what is measured is the bridge: moving each sample to Python and back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.backends.dali.availability import dali_available
from dali_pipelines.bench.runner import time_epoch

bridge = pytest.importorskip("dali_pipelines.bridge")

BATCH_SIZE = 64
THREADS = 2
CROP = {"op": "center_crop", "size": [224, 224]}
PLACEMENTS = ("none", "inline", "workers")


def _invert(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return 255 - image


def _registered() -> None:
    from dali_pipelines.ops import registered_ops

    if "python" not in registered_ops():
        pytest.skip("the python op is not registered yet")
    for placement in PLACEMENTS[1:]:
        name = f"bench_invert_{placement}"
        if name not in bridge.registered_python_ops():
            bridge.register_python_op(name, placement=placement)(_invert)


@pytest.fixture(scope="module", params=PLACEMENTS)
def loader(request: pytest.FixtureRequest, demo_root: Path) -> Iterator[DataLoader]:
    if not dali_available():
        pytest.skip("DALI cannot be imported here")
    _registered()
    ops: list[dict[str, Any]] = [CROP]
    if request.param != "none":
        ops.append({"op": "python", "name": f"bench_invert_{request.param}"})
    made = DataLoader(
        ImageFolder(demo_root),
        {"ops": ops},
        batch_size=BATCH_SIZE,
        shuffle=True,
        seed=0,
        num_threads=THREADS,
        device="cpu",
        backend="dali",
    )
    time_epoch(made)  # warm-up: pipeline build, worker start
    yield made
    made.close()


def test_python_stage(benchmark: Any, loader: DataLoader, request: pytest.FixtureRequest) -> None:
    placement = request.node.callspec.params["loader"]
    benchmark.group = "bridge: python op"
    timing = benchmark.pedantic(time_epoch, args=(loader,), rounds=3, iterations=1)
    benchmark.extra_info.update(placement=placement, images_per_s=timing.images_per_s)
