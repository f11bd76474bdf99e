"""Decode planning: how many decoded pixels each sample's chain really needs.

A 224-px crop of a 4,000-px photo uses a small share of the pixels a full decode produces. The
plan knows every sample's draws, so it can say how large the decoded image must be for the
chain never to magnify it: the *magnification* of a sample is the number of output pixels per
decoded pixel along its more demanding axis (2.0: the chain upsamples 2x; 0.25: four decoded
pixels per output pixel). From it:

* the JPEG DCT scale a decoder could use (libjpeg decodes at 1/2, 1/4 or 1/8 for a fraction of
  the work): the largest ``1/k`` with ``k x magnification <= 1``;
* the bound ``prepare`` may store images at: the side at which a chosen share of the draws is
  still not magnified.

The magnification is measured, not derived per op: a grid of small boxes covering the decoded
image goes through every op's box rule (the same rules that move detection boxes), and the
largest output/input extent ratio of a box is the chain's local scale. A box cut by a crop only
lowers its own ratio, so the largest ratio comes from a box the crop left whole. Ops without a
box rule (registered Python ops) cannot be planned: :class:`~dali_pipelines.errors.SpecError`.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SpecError
from .draws import draw_sample
from .layout import transform_boxes
from .planner import Plan

#: DCT scale denominators libjpeg offers (1/1, 1/2, 1/4, 1/8), largest first.
DCT_DENOMINATORS = (8, 4, 2, 1)
#: Boxes per side of the probe grid: a crop of at least 2/GRID of a side holds a whole box
#: (RandomResizedCrop's smallest default crop spans about 0.24 of a side).
GRID = 16
#: Slack on the "not magnified" test (resize rounding to whole pixels).
_TOLERANCE = 1e-3


def _grid(size: tuple[int, int]) -> np.ndarray:
    height, width = size
    ys = np.linspace(0.0, height, GRID + 1)
    xs = np.linspace(0.0, width, GRID + 1)
    y1, x1 = np.meshgrid(ys[:-1], xs[:-1], indexing="ij")
    y2, x2 = np.meshgrid(ys[1:], xs[1:], indexing="ij")
    return np.stack([x1, y1, x2, y2], axis=-1).reshape(-1, 4)


def magnification(plan: Plan, size: tuple[int, int], *, seed: int, epoch: int, index: int) -> float:
    """Output pixels per decoded pixel of sample ``index``'s draws on an image of ``size``
    (h, w): the largest over the probe boxes and both axes."""
    if plan.audio:
        raise SpecError("decode planning: expected an image spec, got an audio spec")
    (drawn,) = draw_sample(plan, [size], seed, epoch, index)
    boxes = _grid(size)
    moved = transform_boxes(plan, boxes.astype(np.float32), drawn).astype(np.float64)
    if moved.shape != boxes.shape:  # every box rule keeps the boxes (clamped, never dropped)
        raise SpecError(f"decode planning: expected {len(boxes)} boxes back, got {len(moved)}")
    src_w, src_h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    out_w, out_h = moved[:, 2] - moved[:, 0], moved[:, 3] - moved[:, 1]
    return float(max((out_w / src_w).max(), (out_h / src_h).max()))


def dct_denominator(scale: float) -> int:
    """The largest libjpeg denominator ``k`` (8, 4, 2, 1) whose 1/k decode still holds at least
    one decoded pixel per output pixel at magnification ``scale``."""
    return next(k for k in DCT_DENOMINATORS if k * scale <= 1 + _TOLERANCE or k == 1)


def magnifications(
    plan: Plan, sizes: list[tuple[int, int]], *, seed: int = 0, epoch: int = 0
) -> np.ndarray:
    """Each sample's magnification for decoded ``sizes`` (sample ``i`` has ``sizes[i]``)."""
    return np.array(
        [magnification(plan, s, seed=seed, epoch=epoch, index=i) for i, s in enumerate(sizes)]
    )


def side_for(
    plan: Plan, sizes: list[tuple[int, int]], *, coverage: float = 1.0, seed: int = 0
) -> int:
    """The longest side to store images at so that ``coverage`` of the draws (over ``sizes``,
    epoch 0) are not magnified: a sample drawn at magnification ``m`` on an image of long side
    ``L`` needs ``m x L`` pixels there. Never more than the largest image's long side."""
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage: expected 0 < coverage <= 1, got {coverage}")
    if not sizes:
        raise ValueError("sizes: expected at least one image size, got none")
    scales = magnifications(plan, sizes, seed=seed)
    needed = scales * np.array([max(s) for s in sizes], dtype=np.float64)
    side = float(np.quantile(needed, coverage, method="higher"))
    return min(math.ceil(side - _TOLERANCE), max(max(s) for s in sizes))
