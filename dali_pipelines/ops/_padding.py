"""Padding specs shared by pad and random_crop (torchvision's padding/fill/padding_mode)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ..errors import SpecError
from ._types import Float, PadPixels
from .state import ImageState

#: An int pads every side; (lr, tb) pads left/right and top/bottom; or (left, top, right, bottom).
Padding = (
    PadPixels | tuple[PadPixels, PadPixels] | tuple[PadPixels, PadPixels, PadPixels, PadPixels]
)
#: One value for every channel, or one per channel.
Fill = Float | tuple[Float, ...]
PaddingMode = Literal["constant", "edge", "reflect", "symmetric"]


def ltrb(padding: Padding) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) from torchvision's three padding forms."""
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[1], padding[0], padding[1])
    return (padding[0], padding[1], padding[2], padding[3])


def fill_values(fill: Fill) -> float | list[float]:
    """DALI's ``fill_values`` and torchvision's ``fill`` (a number or a per-channel list)."""
    return float(fill) if not isinstance(fill, tuple) else [float(v) for v in fill]


def check_fill(fill: Fill | float, channels: int, integer: bool) -> str | None:
    """Why ``fill`` does not fit the image, or ``None``. torch refuses a uint8 fill outside
    [0, 255] (DALI would saturate it); fractions truncate on both backends."""
    if isinstance(fill, tuple) and len(fill) not in (1, channels):
        return f"1 or {channels} values (image channels)"
    values = fill if isinstance(fill, tuple) else (fill,)
    if integer and any(not 0.0 <= v <= 255.0 for v in values):
        return "values in [0, 255] for a uint8 image"
    return None


def with_fill(state: ImageState, fill: Fill | float) -> ImageState:
    """The fill's values join the image's value range (a normalized image padded with 0)."""
    values = fill if isinstance(fill, tuple) else (fill,)
    lo, hi = state.value_range
    return state.model_copy(update={"value_range": (min(lo, *values), max(hi, *values))})


def check_mode_dali(op: str, mode: str) -> str | None:
    if mode == "constant":
        return None
    return (
        f"{op}.padding_mode: expected 'constant' on the DALI backend, got {mode!r} "
        "(the hybrid executor runs it in torch, after the DALI segment)"
    )


def require_constant(op: str, mode: str) -> None:
    reason = check_mode_dali(op, mode)
    if reason is not None:
        raise SpecError(reason)


def reflect_limit(mode: str, pads: Sequence[int], size: tuple[int, int]) -> str | None:
    """torch's reflect padding needs pad < size (symmetric: pad <= size) on each side."""
    if mode not in ("reflect", "symmetric"):
        return None
    left, top, right, bottom = pads
    h, w = size
    slack = 0 if mode == "reflect" else 1
    if max(top, bottom) >= h + slack or max(left, right) >= w + slack:
        cmp = "<" if mode == "reflect" else "<="
        return f"padding {cmp} the input size {size} for {mode!r} mode"
    return None
