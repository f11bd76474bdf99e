"""color_jitter: torchvision's ColorJitter, emulated exactly in a fixed DALI graph.

torchvision applies brightness, contrast, saturation and hue in a random order (``randperm(4)``)
and clamps and truncates to uint8 after each step. ``draw`` draws the order and the factors the
same way. The graph is fixed: a run of linear slots, the hue step, another run of linear slots
(hue is by far the costliest step, so it is computed once). Each slot applies whichever linear
adjustment the sample drew for that position, selected by exact 0/1 masks; unused slots get
identity rows (factor 1), so every sample gets torchvision's order. Each step reproduces
torchvision's kernel arithmetic:

* brightness ``x*f``, saturation ``x*f + floor(gray(x))*(1-f)``, contrast ``x*f + mean*(1-f)``
  where ``mean`` is the image's mean of ``floor(gray(x))`` computed in the graph (DALI's
  ``brightness_contrast`` blends toward a fixed centre instead);
* hue: torchvision's RGB -> HSV -> shift -> RGB in float (not DALI's YIQ rotation, which is
  off by tens of levels), then torchvision's float -> uint8 rule ``floor(x * 255.999)``.

Only float rounding differs (DALI's mean reduction, operation order), so an output value can
land on the other side of an integer before truncation: 1 level on rare pixels, which a later
brightness or contrast factor > 1 can amplify to 2.

Cost: DALI's CPU backend runs every arithmetic node as a separate pass over the image. Measured
here (224 x 224, 2 threads): ~350 img/s for brightness+contrast+saturation and ~145 img/s with
hue, while torchvision does ~2,100 and ~270 img/s per core. On CPU this op is slower in DALI
than in torch; the graph is meant for the GPU, where these passes are cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import model_validator

from ._translate import Accepts, Mapped
from ._types import Factor as FactorBound
from ._types import Float
from .base import Args, DaliContext, Op, OpParams, Size, Tolerance, register_op
from .state import ChainError, ImageState

Factor = FactorBound | tuple[FactorBound, FactorBound] | None
KINDS = ("brightness", "contrast", "saturation", "hue")
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale
IDENTITY = -1  # kind of the padding rows of a slot run: f = 1, an exact no-op


class ColorJitterParams(OpParams):
    op: Literal["color_jitter"] = "color_jitter"
    #: A float ``v`` means the factor range ``[max(0, 1 - v), 1 + v]``; a pair is the range.
    brightness: Factor = None
    #: Like ``brightness``; blends toward the image's mean grey.
    contrast: Factor = None
    #: Like ``brightness``; blends toward the pixel's grey.
    saturation: Factor = None
    #: A float ``v`` in [0, 0.5] means ``[-v, v]``; a pair is a range within [-0.5, 0.5].
    hue: Float | tuple[Float, Float] | None = None

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
    batchable = False
    size_free = False
    needs_sample_index = False
    box_rule = "keep"
    fuses_output = False
    fuses_decode = False
    torchvision_classes = ("ColorJitter",)
    pixelwise = True
    random = True
    dali_operator = "arithmetic graph: fn.coord_transform, fn.reductions.mean, math.floor/clamp"
    torchvision_name = "v2.ColorJitter"
    tolerance = (
        "per-sample random order like torchvision (drawn and applied in the same order); "
        "uint8: max abs diff <= 2 (0-255) on < 0.1% of pixels (a 1-level rounding flip before "
        "truncation, amplified by later factors), mean < 0.01; float images <= 1e-5"
    )
    bounds = (Tolerance(max_abs=2.0, mean_abs=0.01, float_abs=1e-5),)

    def infer(self, p: ColorJitterParams, state: ImageState) -> ImageState:
        if state.channels not in (1, 3):
            raise ChainError("input", "1 or 3 channels", f"{state.channels} channels")
        if state.normalized or (state.is_float and state.value_range != (0.0, 1.0)):
            raise ChainError("input", "uint8 or float in [0, 1]", f"range {state.value_range}")
        return state

    def arg_names(self, p: ColorJitterParams) -> tuple[str, ...]:
        ranges = p.ranges()
        linear = ("pre",) if set(ranges) - {"hue"} else ()
        if "hue" not in ranges:
            return linear
        return (*linear, "post", "hue") if linear else ("hue",)

    def draw(self, p: ColorJitterParams, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        ranges = p.ranges()
        if not ranges:
            return {}, size
        order = rng.permutation(len(KINDS))
        # torchvision draws the factors in fixed order after the permutation.
        factors = {name: rng.uniform(*ranges[name]) for name in KINDS if name in ranges}
        rows = [(int(i), factors[KINDS[i]]) for i in order if KINDS[i] in ranges]
        # The graph computes hue once (it costs ~10 linear steps on DALI CPU), between a "pre"
        # and a "post" run of linear slots; each run is padded with exact identity rows.
        cut = next((k for k, (i, _) in enumerate(rows) if KINDS[i] == "hue"), len(rows))
        linear = len(ranges) - ("hue" in ranges)
        out: Args = {}
        parts = {"pre": rows[:cut], "post": rows[cut + 1 :]} if "hue" in ranges else {"pre": rows}
        for name, part in parts.items():
            if linear:
                padded = part + [(IDENTITY, 1.0)] * (linear - len(part))
                out[name] = np.array(padded, dtype=np.float32)
        if "hue" in ranges:
            out["hue"] = np.array(factors["hue"], dtype=np.float32)
        return out, size

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
        linear = len(ranges) - ("hue" in ranges)
        x = fn.cast(image, dtype=types.FLOAT, device=ctx.device) if integer else image
        for k in range(linear):
            x = _slot(x, args["pre"][k, 0], args["pre"][k, 1], rgb, integer, ctx)
        if "hue" in ranges:
            post_f = [args["post"][k, 1] for k in range(linear)]
            if rgb:
                x = _hue_shift(x, args["hue"], integer, ctx)
            elif post_f:
                # torchvision leaves a one-channel image unchanged; still consume the input
                # (an unused external source output makes DALI warn) with an exact +0.
                post_f[0] = post_f[0] + args["hue"] * 0.0
            else:
                x = x + args["hue"] * 0.0
            for k in range(linear):
                x = _slot(x, args["post"][k, 0], post_f[k], rgb, integer, ctx)
        return fn.cast(x, dtype=types.UINT8, device=ctx.device) if integer else x

    # -- torch -----------------------------------------------------------------------------
    def apply_torch(self, p: ColorJitterParams, image: Any, args: Args) -> Any:
        from torchvision.transforms.v2 import functional as F

        kernels = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        steps = [(int(k), float(f)) for k, f in args.get("pre", ())]
        if "hue" in args:
            steps.append((3, float(args["hue"])))
            steps += [(int(k), float(f)) for k, f in args.get("post", ())]
        for kind, factor in steps:
            if kind != IDENTITY:
                image = kernels[kind](image, factor)
        return image

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        op: dict[str, Any] = {"op": self.name}
        for name in ("brightness", "contrast", "saturation", "hue"):
            value = getattr(t, name)
            op[name] = None if value is None else [float(v) for v in value]
        note = self.tolerance
        if kind == "pil":
            note = "PIL's ImageEnhance rounds differently from the tensor kernels DALI follows"
        return Mapped([op], kind, note, False)

    def torchvision(self, p: ColorJitterParams) -> Any:
        from torchvision.transforms import v2

        return v2.ColorJitter(
            brightness=p.brightness, contrast=p.contrast, saturation=p.saturation, hue=p.hue
        )


def _slot(x: Any, kind: Any, f: Any, rgb: bool, integer: bool, ctx: DaliContext) -> Any:
    """One linear position: the sample's ``kind`` (brightness, contrast, saturation or the
    identity padding) with factor ``f``, on float pixels holding uint8 values or [0, 1]."""
    import nvidia.dali.fn as fn
    import nvidia.dali.math as dmath

    bound = 255.0 if integer else 1.0
    if rgb:
        gray = fn.coord_transform(x, M=list(GRAY_WEIGHTS), device=ctx.device)
        if integer:
            gray = dmath.floor(gray)  # torchvision floors the grey of uint8 images
    else:
        gray = x  # torchvision's contrast uses the single channel itself
    is_c = kind == 1.0
    is_s = kind == 2.0
    if not rgb:
        f = f * (1 - is_s) + is_s  # saturation leaves a one-channel image unchanged
    mean = fn.reductions.mean(gray, device=ctx.device)  # a scalar per sample
    # x*f + mean*(1-f) in one coord_transform pass, in torchvision's operation order; masks are
    # exactly 0 or 1, so unused terms add exact zeros (identity rows: f = 1, kind = -1).
    scaled = fn.coord_transform(
        x, M=f * _eye(3 if rgb else 1), T=mean * (is_c * (1.0 - f)), device=ctx.device
    )
    lin = dmath.clamp(scaled + gray * (is_s * (1.0 - f)), 0.0, bound)
    return dmath.floor(lin) if integer else lin  # torchvision's float -> uint8 truncates


def _eye(n: int) -> Any:
    import nvidia.dali.types as types

    return types.Constant(np.eye(n, dtype=np.float32), device="cpu")


def _hue_shift(x: Any, hue: Any, integer: bool, ctx: DaliContext) -> Any:
    """torchvision's adjust_hue (RGB -> HSV, shift H, back) with few whole-image passes:
    DALI CPU runs each arithmetic node as its own pass, and channel slices are slow, so planes
    come from coord_transform and the three channels are computed together by broadcasting."""
    import nvidia.dali.fn as fn
    import nvidia.dali.math as dmath
    import nvidia.dali.types as types

    s = 1.0 / 255.0 if integer else 1.0
    r, g, b = (
        fn.coord_transform(x, M=[s * (i == c) for i in range(3)], device=ctx.device)
        for c in range(3)
    )
    mx = dmath.max(r, dmath.max(g, b))
    chroma = mx - dmath.min(r, dmath.min(g, b))
    div = chroma + (chroma == 0.0)  # grey pixels: any divisor, their hue terms cancel
    # (g - b, b - r, r - g) / chroma + (0, 2, 4): the hue sextant if r, g or b is the max.
    diffs = [[0.0, s, -s], [-s, 0.0, s], [s, -s, 0.0]]
    offsets = types.Constant(np.array([[[0.0, 2.0, 4.0]]], dtype=np.float32))
    cand = (
        fn.coord_transform(x, M=[v for row in diffs for v in row], device=ctx.device) / div
        + offsets
    )
    is_r = mx == r
    is_g = (mx == g) & (mx != r)
    is_b = (mx != r) & (mx != g)
    pick = fn.cat(is_r, is_g, is_b, axis=2, device=ctx.device)
    h6 = fn.coord_transform(cand * pick, M=[1.0, 1.0, 1.0], device=ctx.device)
    # HSV -> RGB per channel: v - v*s*clamp(min(k, 4 - k), 0, 1), k = (n + 6h) mod 6, n = 5, 3, 1.
    k = h6 + (hue * 6.0 + types.Constant(np.array([[[5.0, 3.0, 1.0]]], dtype=np.float32)))
    k = k - 6.0 * dmath.floor(k * (1.0 / 6.0))
    out = mx - chroma * dmath.clamp(dmath.min(k, 4.0 - k), 0.0, 1.0)
    if integer:
        out = dmath.floor(dmath.clamp(out, 0.0, 1.0) * 255.999)  # torchvision's to_dtype rule
    return out
