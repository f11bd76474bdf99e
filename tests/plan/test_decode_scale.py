"""Decode planning: each sample's magnification from the box rules, the DCT scale and the bound."""

from __future__ import annotations

import math
from typing import Any

import pytest

import tests.python_ops  # noqa: F401  (registers test_swap)
from dali_pipelines.errors import SpecError
from dali_pipelines.ops._window import window_of
from dali_pipelines.plan import make_plan
from dali_pipelines.plan.decode_scale import (
    dct_denominator,
    magnification,
    magnifications,
    side_for,
)
from dali_pipelines.plan.draws import draw_sample
from dali_pipelines.spec import PipelineSpec, load_spec


def _plan(ops: list[dict[str, Any]]) -> Any:
    return make_plan(PipelineSpec.model_validate({"ops": ops}))


@pytest.mark.parametrize("size", [(2000, 3000), (3000, 2000), (512, 512), (300, 257)])
def test_shorter_side_resize_is_256_over_the_short_side(size: tuple[int, int]) -> None:
    plan = make_plan(load_spec("imagenet_val"))
    scale = magnification(plan, size, seed=0, epoch=0, index=0)
    assert scale == pytest.approx(256 / min(size), rel=1e-3)
    # The bound keeps the short side at 256: long side = 256 x long / short.
    assert side_for(plan, [size]) == min(math.ceil(256 * max(size) / min(size)), max(size))


def test_random_resized_crop_follows_each_drawn_window() -> None:
    plan = make_plan(load_spec("imagenet_train"))
    size = (1800, 2400)
    for index in range(20):
        (drawn,) = draw_sample(plan, [size], 3, 1, index)
        _top, _left, height, width = window_of(drawn.args[0])
        expected = max(224 / width, 224 / height)
        got = magnification(plan, size, seed=3, epoch=1, index=index)
        assert got == pytest.approx(expected, rel=2e-3), (index, height, width)


def test_fixed_size_resize_and_size_free_ops() -> None:
    resize = _plan([{"op": "resize", "size": [100, 50]}, {"op": "horizontal_flip", "p": 1.0}])
    assert magnification(resize, (400, 400), seed=0, epoch=0, index=0) == pytest.approx(0.25)
    flip = _plan([{"op": "horizontal_flip", "p": 1.0}])
    assert magnification(flip, (64, 80), seed=0, epoch=0, index=0) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("scale", "denominator"),
    [(0.1, 8), (0.125, 8), (0.13, 4), (0.25, 4), (0.3, 2), (0.5, 2), (0.51, 1), (1.0, 1), (3.0, 1)],
)
def test_dct_denominator_keeps_a_decoded_pixel_per_output_pixel(
    scale: float, denominator: int
) -> None:
    assert dct_denominator(scale) == denominator


def test_coverage_lowers_the_bound() -> None:
    plan = make_plan(load_spec("imagenet_train"))
    sizes = [(2000, 2400)] * 100
    scales = magnifications(plan, sizes)
    assert len(set(scales.round(6))) > 50  # a different window per sample
    full, most, half = (side_for(plan, sizes, coverage=c) for c in (1.0, 0.9, 0.5))
    assert full == math.ceil(scales.max() * 2400 - 1e-3)
    assert half < most < full <= 2400


def test_refusals() -> None:
    python = _plan([{"op": "python", "name": "test_swap"}])
    with pytest.raises(SpecError, match="expected an op with a box rule"):
        magnification(python, (64, 64), seed=0, epoch=0, index=0)
    with pytest.raises(ValueError, match="coverage: expected 0 < coverage <= 1, got 0"):
        side_for(make_plan(load_spec("imagenet_val")), [(64, 64)], coverage=0)
    with pytest.raises(ValueError, match="sizes: expected at least one"):
        side_for(make_plan(load_spec("imagenet_val")), [])
