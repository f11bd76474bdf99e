"""random_crop: torchvision's RandomCrop (padding, pad_if_needed, fill, padding_mode).

Padding and cropping fold into one absolute window in the input's coordinates that may reach
outside the image: ``fn.slice`` with out_of_bounds_policy "pad" cuts it, so DALI never builds
the padded image. The window is drawn like torchvision's ``make_params``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from ._boxes import crop_boxes
from ._padding import (
    Fill,
    Padding,
    PaddingMode,
    check_fill,
    check_mode_dali,
    fill_values,
    ltrb,
    reflect_limit,
    require_constant,
    with_fill,
)
from ._translate import Accepts, Mapped, fill, square
from ._types import Bool, Pixels
from ._window import dali_slice, window_args, window_of
from .base import Args, DaliContext, Op, OpParams, Size, register_op
from .state import ChainError, ImageState


class RandomCropParams(OpParams):
    op: Literal["random_crop"] = "random_crop"
    #: Output size: an int gives a square, a pair is (height, width).
    size: Pixels | tuple[Pixels, Pixels]
    #: Padding before cropping: an int, (lr, tb) or (left, top, right, bottom).
    padding: Padding | None = None
    #: Pad a side shorter than the crop by the missing amount on both ends (torchvision's rule).
    pad_if_needed: Bool = False
    #: Value of the padded pixels: one for every channel, or one per channel (constant mode).
    fill: Fill = 0.0
    #: Only "constant" runs on DALI; the other modes are torchvision's and run in Python.
    padding_mode: PaddingMode = "constant"

    @property
    def out_size(self) -> Size:
        return (self.size, self.size) if isinstance(self.size, int) else self.size


def padded_window(p: RandomCropParams, size: Size) -> tuple[tuple[int, int, int, int], Size]:
    """(left, top, right, bottom) padding and padded size, as torchvision's make_params."""
    left, top, right, bottom = ltrb(p.padding) if p.padding is not None else (0, 0, 0, 0)
    height, width = size[0] + top + bottom, size[1] + left + right
    ch, cw = p.out_size
    if p.pad_if_needed:
        if height < ch:
            diff = ch - height
            top, bottom, height = top + diff, bottom + diff, height + 2 * diff
        if width < cw:
            diff = cw - width
            left, right, width = left + diff, right + diff, width + 2 * diff
    return (left, top, right, bottom), (height, width)


@register_op
class RandomCrop(Op[RandomCropParams]):
    name = "random_crop"
    Params = RandomCropParams
    batchable = False
    size_free = False
    needs_sample_index = False
    box_rule = "move"
    fuses_output = False
    fuses_decode = False
    torchvision_classes = ("RandomCrop",)
    random = True
    geometric = True
    dali_operator = "fn.slice (absolute window, out_of_bounds_policy='pad')"
    torchvision_name = "v2.RandomCrop"
    tolerance = "exact (constant padding; other modes have no DALI builder)"

    def infer(self, p: RandomCropParams, state: ImageState) -> ImageState:
        reason = check_fill(p.fill, state.channels, not state.is_float)
        if reason:
            raise ChainError("fill", reason, p.fill)
        fixed = state.fixed_size
        if fixed is not None:
            pads, padded = padded_window(p, fixed)
            if padded[0] < p.out_size[0] or padded[1] < p.out_size[1]:
                raise ChainError("size", f"<= {padded} (padded input size)", p.out_size)
            reason = reflect_limit(p.padding_mode, pads, fixed)
            if reason:
                raise ChainError("padding", reason, p.padding)
        out = state.with_size(*p.out_size)
        fills = (p.padding is not None or p.pad_if_needed) and p.padding_mode == "constant"
        return with_fill(out, p.fill) if fills else out

    def dali_supported(self, p: RandomCropParams, device: str) -> str | None:
        return check_mode_dali(self.name, p.padding_mode)

    def arg_names(self, p: RandomCropParams) -> tuple[str, ...]:
        return ("start", "shape")

    def draw(self, p: RandomCropParams, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        pads, (height, width) = padded_window(p, size)
        ch, cw = p.out_size
        if height < ch or width < cw:
            raise ChainError("size", f"<= {(height, width)} (padded input size)", p.out_size)
        top = int(rng.integers(0, height - ch + 1)) if height > ch else 0
        left = int(rng.integers(0, width - cw + 1)) if width > cw else 0
        return window_args(top - pads[1], left - pads[0], ch, cw), p.out_size

    def transform_boxes(
        self, p: RandomCropParams, boxes: np.ndarray, args: Args, size: Size
    ) -> np.ndarray:
        return crop_boxes(boxes, *window_of(args))

    def build_dali(
        self, p: RandomCropParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        require_constant(self.name, p.padding_mode)
        return dali_slice(image, args, ctx, fill=fill_values(p.fill))

    def apply_torch(self, p: RandomCropParams, image: Any, args: Args) -> Any:
        from torchvision.transforms.v2 import functional as F

        # Pad (any mode) then crop, as torchvision; the padding follows from the input size.
        pads, _ = padded_window(p, tuple(image.shape[-2:]))
        if any(pads):
            image = F.pad(image, list(pads), fill=fill_values(p.fill), padding_mode=p.padding_mode)
        top, left, height, width = window_of(args)
        return F.crop(image, top + pads[1], left + pads[0], height, width)

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        op: dict[str, Any] = {"op": self.name, "size": square(t.size)}
        if t.padding is not None:
            op["padding"] = t.padding if isinstance(t.padding, int) else list(t.padding)
        op.update(pad_if_needed=bool(t.pad_if_needed), fill=fill(t.fill))
        op["padding_mode"] = t.padding_mode
        return Mapped([op], kind)

    def torchvision(self, p: RandomCropParams) -> Any:
        from torchvision.transforms import v2

        return v2.RandomCrop(
            list(p.out_size),
            padding=list(ltrb(p.padding)) if p.padding is not None else None,
            pad_if_needed=p.pad_if_needed,
            fill=fill_values(p.fill),
            padding_mode=p.padding_mode,
        )
