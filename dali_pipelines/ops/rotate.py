"""rotate: torchvision's RandomRotation(degrees, expand=False): the angle is drawn in Python.

Verified: DALI's ``fn.rotate`` angle is counter-clockwise like torchvision's, about the image
centre, and ``keep_size=True`` keeps the input size. Nearest agrees except rare rounding ties.
Bilinear agrees inside the image (<= 1) but not along the rotated border: torchvision
multiplies the fill blend by the interpolated mask again, DALI blends once, so the 1-2 pixel band
along the edge of the rotated content differs by up to |pixel - fill|.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import field_validator

from ._dali import interp_type, tv_interpolation
from ._padding import check_fill, with_fill
from ._translate import Accepts, Mapped, Unsupported, interp
from ._types import Degrees, Float, HalfRange
from .base import Args, DaliContext, Op, OpParams, Size, Tolerance, register_op
from .state import ChainError, ImageState


class RotateParams(OpParams):
    op: Literal["rotate"] = "rotate"
    #: ``d`` means an angle drawn in [-d, d]; a pair is the (min, max) range, in degrees.
    degrees: HalfRange | tuple[Degrees, Degrees]
    #: torchvision rotates tensors with nearest or bilinear only.
    interpolation: Literal["nearest", "bilinear"] = "nearest"
    #: Value of the area outside the rotated image (DALI takes one value for all channels).
    fill: Float = 0.0

    @field_validator("degrees")
    @classmethod
    def _range(cls, value: float | tuple[float, float]) -> float | tuple[float, float]:
        if isinstance(value, tuple) and value[0] > value[1]:
            raise ValueError(f"degrees: expected (min, max) with min <= max, got {value}")
        return value

    @property
    def angle_range(self) -> tuple[float, float]:
        d = self.degrees
        return (-d, d) if not isinstance(d, tuple) else d


@register_op
class Rotate(Op[RotateParams]):
    name = "rotate"
    Params = RotateParams
    batchable = False
    size_free = False
    needs_sample_index = False
    box_rule = "refuse"
    fuses_output = False
    fuses_decode = False
    torchvision_classes = ("RandomRotation",)
    geometric = True  # no box rule: a rotated box is no longer axis-aligned
    random = True
    dali_operator = "fn.rotate (keep_size=True, angle argument input)"
    torchvision_name = "v2.RandomRotation (expand=False)"
    tolerance = (
        "nearest: mean < 0.05 (0-255), rare ties pick the neighbour pixel; bilinear: <= 1 "
        "inside, the 1-2 px band along the rotated border differs up to |pixel - fill| "
        "(torchvision applies its fill mask twice), mean < 0.6"
    )
    bounds = (
        Tolerance(max_abs=255.0, mean_abs=0.6, float_abs=1.0, when="interpolation=bilinear"),
        Tolerance(max_abs=255.0, mean_abs=0.05, float_abs=1.0),
    )

    def infer(self, p: RotateParams, state: ImageState) -> ImageState:
        reason = check_fill(p.fill, state.channels, not state.is_float)
        if reason:
            raise ChainError("fill", reason, p.fill)
        return with_fill(state, p.fill)

    def arg_names(self, p: RotateParams) -> tuple[str, ...]:
        return ("angle",)

    def draw(self, p: RotateParams, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        lo, hi = p.angle_range
        angle = rng.uniform(lo, hi) if hi > lo else lo
        return {"angle": np.array(angle, dtype=np.float32)}, size

    def build_dali(
        self, p: RotateParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn

        return fn.rotate(
            image,
            angle=args["angle"],
            keep_size=True,
            interp_type=interp_type(p.interpolation),
            fill_value=p.fill,
            device=ctx.device,
        )

    def apply_torch(self, p: RotateParams, image: Any, args: Args) -> Any:
        from torchvision.transforms.v2 import functional as F

        return F.rotate(
            image,
            float(args["angle"]),
            interpolation=tv_interpolation(p.interpolation),
            fill=p.fill,
        )

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        if t.expand or t.center is not None:
            raise Unsupported("expand=True or a center: the rotate op keeps the size and centre")
        fill = t.fill
        if isinstance(fill, list | tuple) and len(set(fill)) == 1:
            fill = fill[0]
        if isinstance(fill, dict | list | tuple) or fill is None:
            raise Unsupported(f"fill={fill!r}: one value for every channel")
        mode = interp(t.interpolation)
        if mode == "bicubic":
            raise Unsupported("interpolation=bicubic: torchvision rotates with nearest or bilinear")
        op: dict[str, Any] = {"op": self.name, "degrees": [float(d) for d in t.degrees]}
        op["interpolation"] = mode
        op["fill"] = float(fill)
        return Mapped([op], kind, self.tolerance, False)

    def torchvision(self, p: RotateParams) -> Any:
        from torchvision.transforms import v2

        return v2.RandomRotation(
            list(p.angle_range), interpolation=tv_interpolation(p.interpolation), fill=p.fill
        )
