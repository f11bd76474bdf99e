"""color_jitter: torchvision's ColorJitter, emulated exactly in a fixed DALI graph.

torchvision applies brightness, contrast, saturation and hue in a random order (``randperm(4)``)
and clamps and truncates to uint8 after each step. ``draw`` draws the order and the factors the
same way; the DALI graph has one *slot* per enabled adjustment and each slot applies whichever
adjustment the sample drew for that position, selected by exact 0/1 masks, so every sample gets
torchvision's order. Each slot reproduces torchvision's kernel arithmetic:

* brightness ``x*f``, saturation ``x*f + floor(gray(x))*(1-f)``, contrast ``x*f + mean*(1-f)``
  where ``mean`` is the image's mean of ``floor(gray(x))`` computed in the graph (DALI's
  ``brightness_contrast`` blends toward a fixed centre instead);
* hue: torchvision's RGB -> HSV -> shift -> RGB in float (not DALI's YIQ rotation, which is
  off by tens of levels), then torchvision's float -> uint8 rule ``floor(x * 255.999)``.

Only float rounding differs (DALI's mean reduction, operation order), so an output value can
land on the other side of an integer before truncation: 1 level on rare pixels, which a later
brightness or contrast factor > 1 can amplify to 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import NonNegativeFloat, model_validator

from .base import Args, DaliContext, Op, OpParams, Size, register_op
from .state import ChainError, ImageState

Factor = NonNegativeFloat | tuple[NonNegativeFloat, NonNegativeFloat] | None
KINDS = ("brightness", "contrast", "saturation", "hue")
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale


class ColorJitterParams(OpParams):
    op: Literal["color_jitter"] = "color_jitter"
    #: A float ``v`` means the factor range ``[max(0, 1 - v), 1 + v]``; a pair is the range.
    brightness: Factor = None
    #: Like ``brightness``; blends toward the image's mean grey.
    contrast: Factor = None
    #: Like ``brightness``; blends toward the pixel's grey.
    saturation: Factor = None
    #: A float ``v`` in [0, 0.5] means ``[-v, v]``; a pair is a range within [-0.5, 0.5].
    hue: float | tuple[float, float] | None = None

    @model_validator(mode="after")
    def _check(self) -> ColorJitterParams:
        for name in KINDS[:3]:
            value = getattr(self, name)
            if isinstance(value, tuple) and value[0] > value[1]:
                raise ValueError(f"{name}: expected (min, max) with min <= max, got {value}")
        hue = self.hue
        if isinstance(hue, tuple):
            if not -0.5 <= hue[0] <= hue[1] <= 0.5:
                raise ValueError(f"hue: expected -0.5 <= min <= max <= 0.5, got {hue}")
        elif hue is not None and not 0 <= hue <= 0.5:
            raise ValueError(f"hue: expected a value in [0, 0.5], got {hue}")
        return self

    def ranges(self) -> dict[str, tuple[float, float]]:
        """Enabled adjustments and their factor ranges (torchvision's ``_check_input``)."""
        out = {}
        for name in KINDS:
            value = getattr(self, name)
            center = 0.0 if name == "hue" else 1.0
            if value is None:
                continue
            if not isinstance(value, tuple):
                lo = center - value if name == "hue" else max(center - value, 0.0)
                value = (lo, center + value)
            if value[0] == value[1] == center:
                continue  # torchvision drops a no-op adjustment
            out[name] = (float(value[0]), float(value[1]))
        return out


@register_op
class ColorJitter(Op[ColorJitterParams]):
    name = "color_jitter"
    Params = ColorJitterParams
    random = True
    dali_operator = "arithmetic graph: fn.coord_transform, fn.reductions.mean, math.floor/clamp"
    torchvision_name = "v2.ColorJitter"
    tolerance = (
        "per-sample random order like torchvision (drawn and applied in the same order); "
        "uint8: max abs diff <= 2 (0-255) on < 0.1% of pixels (a 1-level rounding flip before "
        "truncation, amplified by later factors), mean < 0.01; float images <= 1e-5"
    )

    def infer(self, p: ColorJitterParams, state: ImageState) -> ImageState:
        if state.channels not in (1, 3):
            raise ChainError("input", "1 or 3 channels", f"{state.channels} channels")
        if state.normalized or (state.is_float and state.value_range != (0.0, 1.0)):
            raise ChainError("input", "uint8 or float in [0, 1]", f"range {state.value_range}")
        return state

    def arg_names(self, p: ColorJitterParams) -> tuple[str, ...]:
        return ("slots",) if p.ranges() else ()

    def draw(self, p: ColorJitterParams, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        ranges = p.ranges()
        if not ranges:
            return {}, size
        order = rng.permutation(len(KINDS))
        # torchvision draws the factors in fixed order after the permutation.
        factors = {name: rng.uniform(*ranges[name]) for name in KINDS if name in ranges}
        rows = [[i, factors[KINDS[i]]] for i in order if KINDS[i] in ranges]
        return {"slots": np.array(rows, dtype=np.float32)}, size

    # -- DALI ------------------------------------------------------------------------------
    def build_dali(
        self, p: ColorJitterParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn
        import nvidia.dali.types as types

        ranges = p.ranges()
        if not ranges:
            return image
        integer = not ctx.state.is_float
        rgb = ctx.state.channels == 3
        x = fn.cast(image, dtype=types.FLOAT, device=ctx.device) if integer else image
        for k in range(len(ranges)):
            row = args["slots"][k]
            x = _slot(x, row[0], row[1], rgb, integer, "hue" in ranges, ctx)
        return fn.cast(x, dtype=types.UINT8, device=ctx.device) if integer else x

    # -- torch -----------------------------------------------------------------------------
    def apply_torch(self, p: ColorJitterParams, image: Any, args: Args) -> Any:
        from torchvision.transforms.v2 import functional as F

        kernels = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        for kind, factor in args.get("slots", np.zeros((0, 2))):
            image = kernels[int(kind)](image, float(factor))
        return image

    def torchvision(self, p: ColorJitterParams) -> Any:
        from torchvision.transforms import v2

        return v2.ColorJitter(
            brightness=p.brightness, contrast=p.contrast, saturation=p.saturation, hue=p.hue
        )


def _slot(x: Any, kind: Any, f: Any, rgb: bool, integer: bool, hue: bool, ctx: DaliContext) -> Any:
    """One adjustment position: the sample's ``kind`` (0-3) with factor ``f``, on float pixels."""
    import nvidia.dali.fn as fn
    import nvidia.dali.math as dmath

    bound = 255.0 if integer else 1.0
    is_c = kind == 1.0
    is_s = kind == 2.0
    is_h = kind == 3.0
    if rgb:
        gray = fn.coord_transform(x, M=list(GRAY_WEIGHTS), device=ctx.device)
        if integer:
            gray = dmath.floor(gray)  # torchvision floors the grey of uint8 images
    else:
        gray = x  # torchvision's contrast uses the single channel itself
    mean = fn.reductions.mean(gray, axes=[0, 1], keep_dims=True, device=ctx.device)
    # Masks are exactly 0 or 1, so the unused terms add exact zeros.
    lin = x * f + gray * (is_s * (1.0 - f)) + mean * (is_c * (1.0 - f))
    lin = dmath.clamp(lin, 0.0, bound)
    if integer:
        lin = dmath.floor(lin)  # torchvision's float -> uint8 cast truncates
    if not rgb:
        # Saturation and hue leave a one-channel image unchanged in torchvision.
        keep = is_s | is_h
        return lin * (1 - keep) + x * keep
    if not hue:
        return lin
    return lin * (1 - is_h) + _hue_shift(x, f, integer, ctx) * is_h


def _hue_shift(x: Any, hue: Any, integer: bool, ctx: DaliContext) -> Any:
    """torchvision's adjust_hue: RGB -> HSV in [0, 1], shift H, back to RGB."""
    import nvidia.dali.fn as fn
    import nvidia.dali.math as dmath

    if integer:
        x = x * (1.0 / 255.0)
    r, g, b = x[:, :, 0], x[:, :, 1], x[:, :, 2]
    mx = dmath.max(r, dmath.max(g, b))
    chroma = mx - dmath.min(r, dmath.min(g, b))
    div = chroma + (chroma == 0.0)  # grey pixels: any divisor, their hue terms cancel
    rc, gc, bc = (mx - r) / div, (mx - g) / div, (mx - b) / div
    is_r = mx == r
    is_g = (mx == g) * (mx != r)
    is_b = (mx != r) * (mx != g)
    h = ((bc - gc) * is_r + (rc + 2.0 - bc) * is_g + (gc + 4.0 - rc) * is_b) * (1.0 / 6.0) + 1.0
    h = h - dmath.floor(h)
    h = h + hue
    h6 = (h - dmath.floor(h)) * 6.0
    # HSV -> RGB per channel: v - v*s*clamp(min(k, 4 - k), 0, 1), k = (n + 6h) mod 6.
    planes = []
    for n in (5.0, 3.0, 1.0):
        k = n + h6
        k = k - 6.0 * dmath.floor(k * (1.0 / 6.0))
        planes.append(mx - chroma * dmath.clamp(dmath.min(k, 4.0 - k), 0.0, 1.0))
    out = fn.stack(*planes, axis=2, device=ctx.device)
    if integer:
        out = dmath.floor(dmath.clamp(out, 0.0, 1.0) * 255.999)  # torchvision's to_dtype rule
    return out
