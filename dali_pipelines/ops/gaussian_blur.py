"""gaussian_blur: torchvision's GaussianBlur; sigma drawn in Python, one value for both axes.

torchvision's ``kernel_size``/``sigma`` pairs are (x, y); DALI's ``window_size``/``sigma`` are in
layout order (y, x) - verified by blurring with unequal windows. Both build the same normalized
kernel and mirror the border without repeating the edge pixel (reflect-101), so outputs agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import field_validator

from ._translate import Accepts, Mapped
from ._types import Pixels, Positive
from .base import Args, DaliContext, Op, OpParams, Size, Tolerance, register_op
from .state import ChainError, ImageState


class GaussianBlurParams(OpParams):
    op: Literal["gaussian_blur"] = "gaussian_blur"
    #: Odd kernel size; a pair is torchvision's (kx, ky), i.e. (width, height).
    kernel_size: Pixels | tuple[Pixels, Pixels]
    #: A fixed sigma, or the (min, max) range it is drawn from per sample.
    sigma: Positive | tuple[Positive, Positive] = (0.1, 2.0)

    @field_validator("kernel_size")
    @classmethod
    def _odd(cls, value: int | tuple[int, int]) -> int | tuple[int, int]:
        sizes = (value,) if isinstance(value, int) else value
        if any(k % 2 == 0 for k in sizes):
            raise ValueError(f"kernel_size: expected odd values, got {value}")
        return value

    @field_validator("sigma")
    @classmethod
    def _range(cls, value: float | tuple[float, float]) -> float | tuple[float, float]:
        if isinstance(value, tuple) and value[0] > value[1]:
            raise ValueError(f"sigma: expected (min, max) with min <= max, got {value}")
        return value

    @property
    def kxy(self) -> tuple[int, int]:
        k = self.kernel_size
        return (k, k) if isinstance(k, int) else k


@register_op
class GaussianBlur(Op[GaussianBlurParams]):
    name = "gaussian_blur"
    Params = GaussianBlurParams
    batchable = False
    size_free = False
    needs_sample_index = False
    box_rule = "keep"
    fuses_output = False
    fuses_decode = False
    torchvision_classes = ("GaussianBlur",)
    pixelwise = True
    random = True
    dali_operator = "fn.gaussian_blur (sigma argument input)"
    torchvision_name = "v2.GaussianBlur"
    tolerance = (
        "uint8: max abs diff <= 1 (0-255) on rare pixels (a rounding tie of the separable "
        "sums), mean < 0.001; float <= 1e-6"
    )
    bounds = (Tolerance(max_abs=1.0, mean_abs=1e-3, float_abs=1e-6),)

    def infer(self, p: GaussianBlurParams, state: ImageState) -> ImageState:
        fixed = state.fixed_size
        kx, ky = p.kxy
        # torch's reflect padding needs half the kernel to be smaller than the image.
        if fixed is not None and (ky // 2 >= fixed[0] or kx // 2 >= fixed[1]):
            raise ChainError("kernel_size", f"half-size < the input size {fixed}", p.kernel_size)
        return state

    def arg_names(self, p: GaussianBlurParams) -> tuple[str, ...]:
        return ("sigma",)

    def draw(
        self, p: GaussianBlurParams, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        lo, hi = p.sigma if isinstance(p.sigma, tuple) else (p.sigma, p.sigma)
        sigma = rng.uniform(lo, hi) if hi > lo else lo
        return {"sigma": np.array(sigma, dtype=np.float32)}, size

    def build_dali(
        self, p: GaussianBlurParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn

        kx, ky = p.kxy
        return fn.gaussian_blur(image, window_size=[ky, kx], sigma=args["sigma"], device=ctx.device)

    def apply_torch(self, p: GaussianBlurParams, image: Any, args: Args) -> Any:
        from torchvision.transforms.v2 import functional as F

        sigma = float(args["sigma"])
        return F.gaussian_blur(image, list(p.kxy), [sigma, sigma])

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        lo, hi = (float(s) for s in t.sigma)
        op: dict[str, Any] = {"op": self.name, "kernel_size": list(t.kernel_size)}
        op["sigma"] = lo if lo == hi else [lo, hi]
        note = "PIL blurs with its own kernel" if kind == "pil" else ""
        return Mapped([op], kind, note, not note)

    def torchvision(self, p: GaussianBlurParams) -> Any:
        from torchvision.transforms import v2

        return v2.GaussianBlur(list(p.kxy), sigma=p.sigma)
