"""normalize: (x - mean) / std per channel, on torchvision's [0, 1] scale.

A uint8 input is first scaled to [0, 1] (what ``ToDtype(float32, scale=True)`` does before
``Normalize`` in a torchvision pipeline), so ``mean``/``std`` are always on the [0, 1] scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import numpy as np
from annotated_types import Ge, Gt, Le
from pydantic import Field, model_validator

from ._translate import Accepts, Mapped, Unsupported
from ._types import Float
from .base import Args, BatchAffine, DaliContext, Op, OpParams, Tolerance, register_op
from .state import ChainError, ImageState

#: The largest ``|mean|`` and ``std`` accepted: far beyond any real normalization (values are on
#: the [0, 1] scale), far below where float math overflows.
MAX_NORMALIZE_VALUE = 10**6
#: The largest ``|(x - mean) / std|`` for x in [0, 1]: float32's largest finite value (the op
#: computes in float32; a float16 input must also fit float16, checked in ``infer``).
MAX_NORMALIZED = float(np.finfo(np.float32).max)

Mean = Annotated[Float, Ge(-MAX_NORMALIZE_VALUE), Le(MAX_NORMALIZE_VALUE)]
Std = Annotated[Float, Gt(0), Le(MAX_NORMALIZE_VALUE)]


class NormalizeParams(OpParams):
    op: Literal["normalize"] = "normalize"
    #: Per-channel mean on the [0, 1] scale (one value for every channel, or one per channel).
    mean: tuple[Mean, ...] = Field(min_length=1, max_length=3)
    #: Per-channel standard deviation on the [0, 1] scale, as many values as ``mean``.
    std: tuple[Std, ...] = Field(min_length=1, max_length=3)

    @model_validator(mode="after")
    def _same_length(self) -> NormalizeParams:
        if len(self.mean) != len(self.std):
            raise ValueError(
                f"std: expected {len(self.mean)} values like mean, got {len(self.std)}"
            )
        lo, hi = normalized_range(self.mean, self.std, len(self.mean))
        if not (math.isfinite(lo) and math.isfinite(hi)) or max(-lo, hi) > MAX_NORMALIZED:
            raise ValueError(
                f"std: expected (x - mean) / std finite in float32 for x in [0, 1], got the "
                f"range ({lo:.3g}, {hi:.3g})"
            )
        return self


def _per_channel(values: tuple[float, ...], channels: int) -> list[float]:
    return list(values) * channels if len(values) == 1 else list(values)


def normalized_range(
    mean: tuple[float, ...], std: tuple[float, ...], channels: int
) -> tuple[float, float]:
    """The (lo, hi) values ``(x - mean) / std`` takes over x in [0, 1] and the channels."""
    pairs = list(zip(_per_channel(mean, channels), _per_channel(std, channels), strict=True))
    return min((0.0 - m) / s for m, s in pairs), max((1.0 - m) / s for m, s in pairs)


@register_op
class Normalize(Op[NormalizeParams]):
    name = "normalize"
    Params = NormalizeParams
    batchable = True
    size_free = True
    needs_sample_index = False
    box_rule = "keep"
    fuses_output = True
    fuses_decode = False
    torchvision_classes = ("Normalize",)
    pixelwise = True
    dali_operator = "fn.crop_mirror_normalize"
    torchvision_name = "v2.ToDtype(float32, scale=True) + v2.Normalize"
    tolerance = "max abs diff <= 1e-5 (float output)"
    bounds = (Tolerance(float_abs=1e-5),)

    def infer(self, p: NormalizeParams, state: ImageState) -> ImageState:
        if len(p.mean) not in (1, state.channels):
            raise ChainError("mean", f"1 or {state.channels} values (image channels)", len(p.mean))
        if state.normalized:
            raise ChainError("input", "an image not normalized yet", "an already normalized image")
        if state.is_float and state.value_range != (0.0, 1.0):
            raise ChainError("input", "float values in [0, 1]", f"range {state.value_range}")
        lo, hi = normalized_range(p.mean, p.std, state.channels)
        dtype = state.dtype if state.is_float else "float32"
        limit = float(np.finfo(np.float16).max) if dtype == "float16" else MAX_NORMALIZED
        if max(-lo, hi) > limit:
            got = f"the range ({lo:.3g}, {hi:.3g}) on a {dtype} input"
            raise ChainError("std", f"(x - mean) / std finite in {dtype}", got)
        return state.model_copy(
            update={"dtype": dtype, "value_range": (lo, hi), "normalized": True}
        )

    def _mean_std(self, p: NormalizeParams, ctx: DaliContext) -> tuple[list[float], list[float]]:
        # DALI normalizes in the input's units: 0-255 for uint8, 0-1 for float.
        scale = 1.0 if ctx.state.is_float else 255.0
        return (
            [m * scale for m in _per_channel(p.mean, ctx.state.channels)],
            [s * scale for s in _per_channel(p.std, ctx.state.channels)],
        )

    def build_dali(
        self, p: NormalizeParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        return self.build_dali_output(p, image, args, ctx, layout="HWC", dtype="float32")

    def build_dali_output(
        self,
        p: NormalizeParams,
        image: Any,
        args: Mapping[str, Any],
        ctx: DaliContext,
        layout: str,
        dtype: str,
        window: Mapping[str, Any] | None = None,
    ) -> Any:
        """Normalize, transpose and cast in one pass (the op is last in the chain), with the
        previous op's ``window`` (a crop, a horizontal mirror) in the same pass."""
        import nvidia.dali.fn as fn

        from ._dali import dali_dtype

        mean, std = self._mean_std(p, ctx)
        crop: dict[str, Any] = dict(window or {})
        if "crop" in crop:
            # Padding (an image smaller than the window) must hold what a separate crop's zero
            # pixels become after normalizing, computed as DALI does: (0 - mean) * (1 / std).
            fill = [
                float(np.float32(-np.float32(m)) * np.float32(1.0 / np.float32(s)))
                for m, s in zip(mean, std)
            ]
            crop.update(out_of_bounds_policy="pad", fill_values=fill)
        return fn.crop_mirror_normalize(
            image,
            device=ctx.device,
            mean=mean,
            std=std,
            dtype=dali_dtype(dtype),
            output_layout=layout,
            **crop,
        )

    def apply_torch(self, p: NormalizeParams, image: Any, args: Args) -> Any:
        import torch
        from torchvision.transforms.v2 import functional as F

        if not image.is_floating_point():
            image = F.to_dtype(image, torch.float32, scale=True)
        return F.normalize(image, mean=list(p.mean), std=list(p.std))

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        if kind == "pil" or not state.is_float:
            raise Unsupported("Normalize on a non-float image (torchvision would fail)")
        return Mapped([{"op": self.name, "mean": list(t.mean), "std": list(t.std)}], kind)

    def batch_affine(self, p: NormalizeParams, is_float: bool) -> BatchAffine:
        # A uint8 input is scaled to [0, 1] first, as apply_torch does.
        sub, div = tuple(p.mean), tuple(p.std)
        return BatchAffine(sub=sub, div=div, to_float=True, scales_uint8=True, last_only=True)

    def torchvision(self, p: NormalizeParams) -> Any:
        import torch
        from torchvision.transforms import v2

        return v2.Compose(
            [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(p.mean), list(p.std))]
        )
