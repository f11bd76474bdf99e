"""Pixel-exact crop windows shared by the crop ops.

DALI's ``fn.crop``/``decoders.image_crop`` place the window from a normalized position and round
it themselves; torchvision computes integer (top, left) in Python. To be pixel-exact the crop ops
draw the integer window and pass it as absolute ``start``/``shape`` argument inputs to
``fn.slice``/``decoders.image_slice`` with ``axis_names="HW"`` (verified: both then take (y, x)
and (height, width); ``decoders.image_slice``'s positional inputs default to "WH" instead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .base import Args, DaliContext


def window_args(top: int, left: int, height: int, width: int) -> Args:
    return {
        "start": np.array([top, left], dtype=np.int32),
        "shape": np.array([height, width], dtype=np.int32),
    }


def window_of(args: Args) -> tuple[int, int, int, int]:
    """(top, left, height, width) back from :func:`window_args`' arrays."""
    top, left = (int(v) for v in args["start"])
    height, width = (int(v) for v in args["shape"])
    return top, left, height, width


def dali_slice(
    image: Any,
    args: Mapping[str, Any],
    ctx: DaliContext,
    fill: float | Sequence[float] | None = None,
) -> Any:
    """Cut the drawn window; with ``fill`` a window outside the image is padded with it."""
    import nvidia.dali.fn as fn

    pad: dict[str, Any] = {}
    if fill is not None:
        pad = {"out_of_bounds_policy": "pad", "fill_values": fill}
    return fn.slice(
        image,
        start=args["start"],
        shape=args["shape"],
        axis_names="HW",
        device=ctx.device,
        **pad,
    )


def dali_decode_slice(args: Mapping[str, Any], decode: Callable[..., Any]) -> Any:
    """ROI decode of the drawn window (the window must lie inside the image: no padding here)."""
    return decode("image_slice", start=args["start"], shape=args["shape"], axis_names="HW")
