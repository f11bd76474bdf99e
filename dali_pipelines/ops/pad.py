"""pad: torchvision's Pad. DALI pads with a constant (an absolute ``fn.slice`` window reaching
outside the image, out_of_bounds_policy "pad"); the other modes are valid specs that DALI
cannot run, so ``dali_supported`` says why and ``build_dali`` raises a SpecError."""

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
from ._translate import Accepts, Mapped, fill
from ._window import dali_slice, window_args, window_of
from .base import Args, DaliContext, Op, OpParams, Size, register_op
from .state import ChainError, ImageState


class PadParams(OpParams):
    op: Literal["pad"] = "pad"
    #: An int pads every side; (lr, tb) left/right and top/bottom; or (left, top, right, bottom).
    padding: Padding
    #: Value of the padded pixels: one for every channel, or one per channel (constant mode).
    fill: Fill = 0.0
    #: Only "constant" runs on DALI; the other modes are torchvision's and run in Python.
    padding_mode: PaddingMode = "constant"


@register_op
class Pad(Op[PadParams]):
    name = "pad"
    Params = PadParams
    batchable = False
    size_free = False
    needs_sample_index = False
    box_rule = "move"
    fuses_output = False
    fuses_decode = False
    torchvision_classes = ("Pad",)
    geometric = True
    dali_operator = "fn.slice (window outside the image, out_of_bounds_policy='pad')"
    torchvision_name = "v2.Pad"
    tolerance = "exact (constant mode; other modes have no DALI builder)"

    def infer(self, p: PadParams, state: ImageState) -> ImageState:
        reason = check_fill(p.fill, state.channels, not state.is_float)
        if reason:
            raise ChainError("fill", reason, p.fill)
        left, top, right, bottom = ltrb(p.padding)
        out = with_fill(state, p.fill) if p.padding_mode == "constant" else state
        fixed = state.fixed_size
        if fixed is None:
            return out.with_size(None, None)
        reason = reflect_limit(p.padding_mode, (left, top, right, bottom), fixed)
        if reason:
            raise ChainError("padding", reason, p.padding)
        return out.with_size(fixed[0] + top + bottom, fixed[1] + left + right)

    def dali_supported(self, p: PadParams, device: str) -> str | None:
        return check_mode_dali(self.name, p.padding_mode)

    def arg_names(self, p: PadParams) -> tuple[str, ...]:
        return ("start", "shape")

    def draw(self, p: PadParams, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        left, top, right, bottom = ltrb(p.padding)
        out = (size[0] + top + bottom, size[1] + left + right)
        return window_args(-top, -left, *out), out

    def transform_boxes(
        self, p: PadParams, boxes: np.ndarray, args: Args, size: Size
    ) -> np.ndarray:
        return crop_boxes(boxes, *window_of(args))

    def build_dali(
        self, p: PadParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        require_constant(self.name, p.padding_mode)
        return dali_slice(image, args, ctx, fill=fill_values(p.fill))

    def apply_torch(self, p: PadParams, image: Any, args: Args) -> Any:
        from torchvision.transforms.v2 import functional as F

        return F.pad(
            image, list(ltrb(p.padding)), fill=fill_values(p.fill), padding_mode=p.padding_mode
        )

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        padding = t.padding if isinstance(t.padding, int) else list(t.padding)
        op = {"op": self.name, "padding": padding, "fill": fill(t.fill)}
        op["padding_mode"] = t.padding_mode
        return Mapped([op], kind)

    def torchvision(self, p: PadParams) -> Any:
        from torchvision.transforms import v2

        return v2.Pad(list(ltrb(p.padding)), fill=fill_values(p.fill), padding_mode=p.padding_mode)
