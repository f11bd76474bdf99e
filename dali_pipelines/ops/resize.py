"""resize: shorter side to ``size`` (torchvision's truncating rule) or an exact (h, w)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import model_validator

from ._boxes import resize_boxes
from ._dali import interp_type, tv_interpolation
from ._translate import (
    Accepts,
    Mapped,
    Unsupported,
    antialias,
    hw,
    interp,
    interp_note,
    join,
    resampled,
)
from ._types import Bool, Pixels
from .base import Args, DaliContext, Op, OpParams, Size, Tolerance, register_op
from .state import ImageState

Interpolation = Literal["nearest", "bilinear", "bicubic"]


class ResizeParams(OpParams):
    op: Literal["resize"] = "resize"
    #: An int resizes the shorter side (aspect kept); a pair is the exact (height, width).
    size: Pixels | tuple[Pixels, Pixels]
    #: Resize filter (DALI's nearest samples pixel centres: torchvision's NEAREST_EXACT).
    interpolation: Interpolation = "bilinear"
    #: Cap on the longer side, like torchvision's ``max_size`` (only with an int ``size``).
    max_size: Pixels | None = None
    #: Antialias when downscaling (torchvision's default for tensors in v2).
    antialias: Bool = True

    @model_validator(mode="after")
    def _max_size(self) -> ResizeParams:
        if self.max_size is not None:
            if not isinstance(self.size, int):
                raise ValueError(f"max_size: expected None with a (h, w) size, got {self.max_size}")
            if self.max_size <= self.size:
                raise ValueError(f"max_size: expected > size={self.size}, got {self.max_size}")
        return self


def shorter_side_size(size: Size, target: int, max_size: int | None = None) -> Size:
    """Output (h, w) of a shorter-side resize, computed as torchvision does.

    torchvision truncates the longer side (``int(target * long / short)``) where DALI's
    ``resize_shorter`` rounds, so the DALI builder passes this explicit size.
    """
    h, w = size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = target, int(target * long / short)
    if max_size is not None and new_long > max_size:
        new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


@register_op
class Resize(Op[ResizeParams]):
    name = "resize"
    Params = ResizeParams
    batchable = False
    size_free = False
    needs_sample_index = False
    box_rule = "move"
    fuses_output = False
    fuses_decode = False
    torchvision_classes = ("Resize",)
    geometric = True
    dali_operator = "fn.resize (explicit per-sample size)"
    torchvision_name = "v2.Resize"
    tolerance = "max abs diff <= 3 (0-255), mean < 0.5: both antialiased, different filters"
    bounds = (
        Tolerance(max_abs=255.0, mean_abs=6.0, float_abs=1.0, when="interpolation=nearest"),
        Tolerance(max_abs=4.0, mean_abs=0.5, float_abs=0.016, when="interpolation=bicubic"),
        Tolerance(max_abs=3.0, mean_abs=0.5, float_abs=0.012),
    )

    def infer(self, p: ResizeParams, state: ImageState) -> ImageState:
        if isinstance(p.size, tuple):
            return state.with_size(*p.size)
        fixed = state.fixed_size
        if fixed is None:
            return state.with_size(None, None)
        return state.with_size(*shorter_side_size(fixed, p.size, p.max_size))

    def arg_names(self, p: ResizeParams) -> tuple[str, ...]:
        return ("size",) if isinstance(p.size, int) else ()

    def draw(self, p: ResizeParams, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        if isinstance(p.size, tuple):
            return {}, p.size
        out = shorter_side_size(size, p.size, p.max_size)
        return {"size": np.array(out, dtype=np.float32)}, out

    def transform_boxes(
        self, p: ResizeParams, boxes: np.ndarray, args: Args, size: Size
    ) -> np.ndarray:
        out = tuple(int(s) for s in args["size"]) if isinstance(p.size, int) else p.size
        return resize_boxes(boxes, size, (out[0], out[1]))

    def build_dali(
        self, p: ResizeParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn

        size = args["size"] if isinstance(p.size, int) else [float(s) for s in p.size]
        return fn.resize(
            image,
            device=ctx.device,
            size=size,
            interp_type=interp_type(p.interpolation),
            antialias=p.antialias,
        )

    def apply_torch(self, p: ResizeParams, image: Any, args: Args) -> Any:
        from torchvision.transforms.v2 import functional as F

        size = [int(s) for s in args["size"]] if isinstance(p.size, int) else list(p.size)
        return F.resize(
            image, size, interpolation=tv_interpolation(p.interpolation), antialias=p.antialias
        )

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        if t.size is None:
            raise Unsupported("size=None (max_size only)")
        mode = interp(t.interpolation)
        op: dict[str, Any] = {"op": self.name, "size": hw(t.size), "interpolation": mode}
        op.update(max_size=t.max_size, antialias=antialias(t, kind))
        note = join(resampled(kind), interp_note(t.interpolation))
        return Mapped([op], kind, note, False)

    def torchvision(self, p: ResizeParams) -> Any:
        from torchvision.transforms import v2

        size = [p.size] if isinstance(p.size, int) else list(p.size)
        return v2.Resize(
            size,
            interpolation=tv_interpolation(p.interpolation),
            max_size=p.max_size,
            antialias=p.antialias,
        )
