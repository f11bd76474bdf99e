"""An op folded into normalize's crop_mirror_normalize gives the same bits as its own operator:
a centre crop (odd and even margins, images smaller than the crop) and a horizontal flip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dali_pipelines import ImageFolder, load_spec
from dali_pipelines.backends.dali.executor import DaliExecutor
from dali_pipelines.backends.dali.graph import GraphOptions
from dali_pipelines.backends.feed import SampleFeed
from dali_pipelines.backends.recovery import Recovery
from dali_pipelines.data.columns import bind_source
from dali_pipelines.plan import make_plan

pytestmark = pytest.mark.integration

SIZES = [(40, 40), (41, 57), (64, 45), (33, 70), (39, 39), (120, 41), (52, 36), (47, 47)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("window") / "data" / "c"
    root.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for k, (h, w) in enumerate(SIZES):
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"{k:02d}.png")
    return root.parent


def _run(folder: Path, spec: dict, fuse: bool) -> list[np.ndarray]:
    plan = make_plan(load_spec(spec))
    feed = SampleFeed(bind_source(ImageFolder(folder), plan.layout), plan, 0, Recovery(), None)
    options = GraphOptions(batch_size=4, num_threads=1, fuse_windows=fuse)
    executor = DaliExecutor(feed, plan, options)
    batches = [np.arange(0, 4), np.arange(4, 8)]
    try:
        return [raw.columns[0].numpy().copy() for raw in executor.run(0, batches)]
    finally:
        executor.close()


NORMALIZE = {"op": "normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


@pytest.mark.parametrize(
    ("before", "dtype"),
    [
        ([{"op": "center_crop", "size": [40, 40]}], "float32"),
        ([{"op": "center_crop", "size": [40, 40]}], "float16"),
        ([{"op": "resize", "size": [40, 40]}, {"op": "horizontal_flip", "p": 0.5}], "float32"),
    ],
)
def test_folded_op_is_its_own_operator_bit_for_bit(
    folder: Path, before: list[dict], dtype: str
) -> None:
    spec = {"ops": [*before, NORMALIZE], "output": {"dtype": dtype}}
    fused, separate = _run(folder, spec, True), _run(folder, spec, False)
    assert [b.shape for b in fused] == [(4, 3, 40, 40)] * 2
    for a, b in zip(fused, separate, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
