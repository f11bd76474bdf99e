"""Property tests of the window arithmetic against torchvision, over arbitrary sizes (no DALI)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.transforms.v2 import functional as F

from dali_pipelines.ops import get_op
from dali_pipelines.ops._window import window_of

sizes = st.tuples(st.integers(1, 60), st.integers(1, 60))


def _crop_window(image: torch.Tensor, top: int, left: int, h: int, w: int) -> torch.Tensor:
    """What fn.slice with out_of_bounds_policy="pad" (fill 0) cuts, in numpy terms."""
    c, ih, iw = image.shape
    out = torch.zeros(c, h, w, dtype=image.dtype)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, ih), min(left + w, iw)
    if y1 > y0 and x1 > x0:
        out[:, y0 - top : y1 - top, x0 - left : x1 - left] = image[:, y0:y1, x0:x1]
    return out


def _coded(h: int, w: int) -> torch.Tensor:
    return (torch.arange(h * w, dtype=torch.int32) % 251 + 1).reshape(1, h, w).to(torch.uint8)


@settings(max_examples=200, deadline=None)
@given(size=sizes, crop=sizes)
def test_center_crop_window_is_torchvisions(size: tuple[int, int], crop: tuple[int, int]) -> None:
    op = get_op("center_crop")
    p = op.Params.model_validate({"op": "center_crop", "size": crop})
    args, out = op.draw(p, size, np.random.default_rng(0))
    img = _coded(*size)
    assert torch.equal(_crop_window(img, *window_of(args)), F.center_crop(img, list(crop)))
    assert out == crop


@settings(max_examples=200, deadline=None)
@given(
    size=sizes,
    scale=st.tuples(st.floats(0.01, 1.0), st.floats(0.01, 1.0)).map(sorted),
    ratio=st.tuples(st.floats(0.2, 5.0), st.floats(0.2, 5.0)).map(sorted),
    seed=st.integers(0, 2**32 - 1),
)
def test_rrc_window_always_inside(
    size: tuple[int, int], scale: list[float], ratio: list[float], seed: int
) -> None:
    op = get_op("random_resized_crop")
    p = op.Params.model_validate(
        {"op": "random_resized_crop", "size": 8, "scale": scale, "ratio": ratio}
    )
    args, out = op.draw(p, size, np.random.default_rng(seed))
    top, left, h, w = window_of(args)
    assert out == (8, 8)
    assert top >= 0 and left >= 0 and h >= 1 and w >= 1
    assert top + h <= size[0] and left + w <= size[1]


@settings(max_examples=200, deadline=None)
@given(
    size=sizes,
    crop=sizes,
    padding=st.tuples(*[st.integers(0, 5)] * 4),
    pad_if_needed=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_crop_window_is_pad_then_crop(
    size: tuple[int, int],
    crop: tuple[int, int],
    padding: tuple[int, int, int, int],
    pad_if_needed: bool,
    seed: int,
) -> None:
    op = get_op("random_crop")
    p = op.Params.model_validate(
        {"op": "random_crop", "size": crop, "padding": padding, "pad_if_needed": pad_if_needed}
    )
    img = _coded(*size)
    try:
        args, _ = op.draw(p, size, np.random.default_rng(seed))
    except ValueError:
        # torchvision refuses the same inputs: crop larger than the padded image.
        padded = (size[0] + padding[1] + padding[3], size[1] + padding[0] + padding[2])
        assert not pad_if_needed and (padded[0] < crop[0] or padded[1] < crop[1])
        return
    # The single DALI window equals torchvision's pad + crop applied by apply_torch.
    assert torch.equal(_crop_window(img, *window_of(args)), op.apply_torch(p, img, args))
