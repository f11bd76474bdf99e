"""center_crop: torchvision's CenterCrop, pixel-exact (same rounding, same zero padding).

torchvision rounds the anchor with Python's ``round`` (half to even) and pads with zeros when the
crop is larger than the image; the window is computed here the same way per input size and cut
with ``fn.slice`` (out-of-bounds policy "pad", fill 0). A crop larger than a *known* input size is
rejected up front: it is almost always a mistake in the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from ._boxes import crop_boxes
from ._translate import Accepts, Mapped, square
from ._types import Pixels
from ._window import dali_slice, window_args, window_of
from .base import Args, DaliContext, Op, OpParams, Size, register_op
from .state import ChainError, ImageState


class CenterCropParams(OpParams):
    op: Literal["center_crop"] = "center_crop"
    #: Output size: an int gives a square, a pair is (height, width).
    size: Pixels | tuple[Pixels, Pixels]

    @property
    def out_size(self) -> Size:
        return (self.size, self.size) if isinstance(self.size, int) else self.size


def center_window(size: Size, crop: Size) -> tuple[int, int]:
    """(top, left) of torchvision's centre crop; negative where it pads (left/top get the floor)."""
    starts = []
    for n, c in zip(size, crop, strict=True):
        starts.append(-((c - n) // 2) if c > n else round((n - c) / 2.0))
    return starts[0], starts[1]


@register_op
class CenterCrop(Op[CenterCropParams]):
    name = "center_crop"
    Params = CenterCropParams
    batchable = True
    size_free = False
    needs_sample_index = False
    box_rule = "move"
    fuses_output = False
    fuses_decode = False
    torchvision_classes = ("CenterCrop",)
    geometric = True
    dali_operator = "fn.slice (absolute window, out_of_bounds_policy='pad')"
    torchvision_name = "v2.CenterCrop"
    tolerance = "exact"

    def infer(self, p: CenterCropParams, state: ImageState) -> ImageState:
        fixed = state.fixed_size
        if fixed is not None and (p.out_size[0] > fixed[0] or p.out_size[1] > fixed[1]):
            raise ChainError("size", f"<= {fixed} (input size)", p.out_size)
        return state.with_size(*p.out_size)

    def arg_names(self, p: CenterCropParams) -> tuple[str, ...]:
        return ("start", "shape", "pos_y", "pos_x")

    def draw(self, p: CenterCropParams, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        start = center_window(size, p.out_size)
        args = window_args(*start, *p.out_size)
        # The same window as crop_mirror_normalize's relative position (anchor = pos * (n - c),
        # verified bitwise against fn.slice for odd, even and smaller-than-crop sizes).
        for name, first, n, c in zip(("pos_y", "pos_x"), start, size, p.out_size, strict=True):
            args[name] = np.array(first / (n - c) if n != c else 0.5, dtype=np.float32)
        return args, p.out_size

    output_window_args = window_only_args = ("pos_y", "pos_x")

    def output_window(self, p: CenterCropParams, args: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"crop": p.out_size, "crop_pos_x": args["pos_x"], "crop_pos_y": args["pos_y"]}

    def transform_boxes(
        self, p: CenterCropParams, boxes: np.ndarray, args: Args, size: Size
    ) -> np.ndarray:
        return crop_boxes(boxes, *window_of(args))

    def build_dali(
        self, p: CenterCropParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        # Images smaller than the crop (sizes vary per sample) are zero-padded like torchvision.
        return dali_slice(image, args, ctx, fill=0.0)

    def apply_torch(self, p: CenterCropParams, image: Any, args: Args) -> Any:
        from torchvision.transforms.v2 import functional as F

        _, _, height, width = window_of(args)
        return F.center_crop(image, [height, width])

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        return Mapped([{"op": self.name, "size": square(t.size)}], kind)

    def torchvision(self, p: CenterCropParams) -> Any:
        from torchvision.transforms import v2

        return v2.CenterCrop(list(p.out_size))
