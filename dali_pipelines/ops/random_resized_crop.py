"""random_resized_crop: torchvision's RandomResizedCrop, fused with ROI decoding when first.

The window is drawn in Python with torchvision's ``get_params`` algorithm (10 attempts, then the
centre fallback) and passed to DALI as an absolute pixel window, so DALI and torchvision crop
exactly the same pixels; only the resize filters differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
from pydantic import field_validator

from ._boxes import crop_boxes, resize_boxes
from ._dali import interp_type, tv_interpolation
from ._translate import Accepts, Mapped, antialias, interp, interp_note, join, resampled, square
from ._types import Bool, Pixels, Ratio
from ._window import dali_decode_slice, dali_slice, window_args, window_of
from .base import Args, DaliContext, Op, OpParams, Size, Tolerance, register_op
from .state import ImageState

Interpolation = Literal["nearest", "bilinear", "bicubic"]


class RandomResizedCropParams(OpParams):
    op: Literal["random_resized_crop"] = "random_resized_crop"
    #: Output size: an int gives a square, a pair is (height, width).
    size: Pixels | tuple[Pixels, Pixels]
    #: Range of the crop's area as a fraction of the input's area.
    scale: tuple[Ratio, Ratio] = (0.08, 1.0)
    #: Range of the crop's aspect ratio (width / height), sampled log-uniformly.
    ratio: tuple[Ratio, Ratio] = (3.0 / 4.0, 4.0 / 3.0)
    #: Resize filter after the crop (DALI's nearest samples pixel centres: NEAREST_EXACT).
    interpolation: Interpolation = "bilinear"
    #: Antialias when downscaling (torchvision's default for tensors in v2).
    antialias: Bool = True

    @field_validator("scale", "ratio")
    @classmethod
    def _ordered(cls, value: tuple[float, float], info: Any) -> tuple[float, float]:
        # torchvision only warns here and then samples from an empty range.
        if value[0] > value[1]:
            raise ValueError(f"{info.field_name}: expected (min, max) with min <= max, got {value}")
        return value

    @property
    def out_size(self) -> Size:
        return (self.size, self.size) if isinstance(self.size, int) else self.size


def rrc_window(
    size: Size, scale: tuple[float, float], ratio: tuple[float, float], rng: np.random.Generator
) -> tuple[int, int, int, int]:
    """(top, left, height, width) as torchvision's ``RandomResizedCrop.make_params`` draws it."""
    height, width = size
    area = height * width
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect_ratio = math.exp(rng.uniform(log_lo, log_hi))
        w = round(math.sqrt(target_area * aspect_ratio))
        h = round(math.sqrt(target_area / aspect_ratio))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, round(width / min(ratio))
    elif in_ratio > max(ratio):
        h, w = height, round(height * max(ratio))
    else:
        w, h = width, height
    # torchvision can round a side of a tiny image to 0 here and then fails; keep 1 pixel.
    h, w = max(h, 1), max(w, 1)
    return (height - h) // 2, (width - w) // 2, h, w


@register_op
class RandomResizedCrop(Op[RandomResizedCropParams]):
    name = "random_resized_crop"
    Params = RandomResizedCropParams
    batchable = False
    size_free = False
    needs_sample_index = False
    box_rule = "move"
    fuses_output = False
    fuses_decode = True
    torchvision_classes = ("RandomResizedCrop",)
    random = True
    geometric = True
    dali_operator = "decoders.image_slice (fused ROI decode) or fn.slice, then fn.resize"
    torchvision_name = "v2.RandomResizedCrop"
    tolerance = (
        "same crop window (exact); resize: max abs diff <= 3 (0-255), mean < 0.5 "
        "(both antialiased, different filter implementations; measured max 2, mean 0.22); "
        "nearest: DALI samples pixel centres (torchvision's NEAREST_EXACT), so against "
        "NEAREST some pixels come from the neighbour"
    )
    bounds = (
        Tolerance(max_abs=255.0, mean_abs=6.0, float_abs=1.0, when="interpolation=nearest"),
        Tolerance(max_abs=4.0, mean_abs=0.5, float_abs=0.016, when="interpolation=bicubic"),
        Tolerance(max_abs=3.0, mean_abs=0.5, float_abs=0.012),
    )

    def infer(self, p: RandomResizedCropParams, state: ImageState) -> ImageState:
        return state.with_size(*p.out_size)

    def arg_names(self, p: RandomResizedCropParams) -> tuple[str, ...]:
        return ("start", "shape")

    def draw(
        self, p: RandomResizedCropParams, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        return window_args(*rrc_window(size, p.scale, p.ratio, rng)), p.out_size

    def transform_boxes(
        self, p: RandomResizedCropParams, boxes: np.ndarray, args: Args, size: Size
    ) -> np.ndarray:
        top, left, height, width = window_of(args)
        cropped = crop_boxes(boxes, top, left, height, width)
        return resize_boxes(cropped, (height, width), p.out_size)

    def _resize(self, p: RandomResizedCropParams, image: Any, ctx: DaliContext) -> Any:
        import nvidia.dali.fn as fn

        return fn.resize(
            image,
            device=ctx.device,
            size=[float(s) for s in p.out_size],
            interp_type=interp_type(p.interpolation),
            antialias=p.antialias,
        )

    def build_dali(
        self, p: RandomResizedCropParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        return self._resize(p, dali_slice(image, args, ctx), ctx)

    def build_dali_decode(
        self,
        p: RandomResizedCropParams,
        args: Mapping[str, Any],
        ctx: DaliContext,
        decode: Callable[..., Any],
    ) -> Any:
        # Only the window's pixels are decoded (JPEG: whole MCU rows are skipped).
        return self._resize(p, dali_decode_slice(args, decode), ctx)

    def apply_torch(self, p: RandomResizedCropParams, image: Any, args: Args) -> Any:
        from torchvision.transforms.v2 import functional as F

        top, left, height, width = window_of(args)
        return F.resized_crop(
            image,
            top,
            left,
            height,
            width,
            list(p.out_size),
            interpolation=tv_interpolation(p.interpolation),
            antialias=p.antialias,
        )

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        op: dict[str, Any] = {"op": self.name, "size": square(t.size)}
        op["scale"] = list(t.scale)
        op.update(ratio=list(t.ratio), interpolation=interp(t.interpolation))
        op["antialias"] = antialias(t, kind)
        note = join("same crop windows", resampled(kind), interp_note(t.interpolation))
        return Mapped([op], kind, note, False)

    def torchvision(self, p: RandomResizedCropParams) -> Any:
        from torchvision.transforms import v2

        return v2.RandomResizedCrop(
            list(p.out_size),
            scale=p.scale,
            ratio=p.ratio,
            interpolation=tv_interpolation(p.interpolation),
            antialias=p.antialias,
        )
