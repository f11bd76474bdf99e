"""to_dtype: torchvision's ToDtype(dtype, scale) on images.

With ``scale``, uint8 -> float divides by 255 and float -> uint8 is torchvision's
``floor(x * 255.999)``; without it values are cast as they are (float -> uint8 truncates).
DALI has no bfloat16: the graph produces float32 and the backend casts to bfloat16 in torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ._dali import dali_dtype, torch_dtype
from ._translate import Accepts, Mapped, Unsupported
from ._types import Bool
from .base import Args, BatchAffine, DaliContext, Op, OpParams, Tolerance, register_op
from .state import FLOAT_DTYPES, ChainError, Dtype, ImageState

_EPS = 1e-3  # torchvision's float -> int scaling is x * (max + 1 - eps)


class ToDtypeParams(OpParams):
    op: Literal["to_dtype"] = "to_dtype"
    #: Target dtype; DALI produces float32 for bfloat16 (the backend casts in torch).
    dtype: Dtype
    #: Rescale values between uint8's [0, 255] and float's [0, 1] (torchvision's ``scale``).
    scale: Bool = False


_TORCH_DTYPES = {"torch.float32": "float32", "torch.float16": "float16", "torch.uint8": "uint8"}
_TORCH_DTYPES["torch.bfloat16"] = "bfloat16"


@register_op
class ToDtype(Op[ToDtypeParams]):
    name = "to_dtype"
    Params = ToDtypeParams
    batchable = True
    size_free = True
    needs_sample_index = False
    box_rule = "keep"
    fuses_output = False
    fuses_decode = False
    torchvision_classes = ("ToDtype", "ConvertImageDtype", "ToTensor")
    pixelwise = True
    dali_operator = "fn.cast + arithmetic (scale, floor)"
    torchvision_name = "v2.ToDtype"
    tolerance = (
        "uint8 output exact; float32 <= 1e-6; float16 <= 1 ulp (torchvision scales in float16, "
        "DALI in float32); bfloat16: DALI yields float32, torch's bfloat16 rounding <= 4e-3; "
        "float16 -> uint8 with scale: DALI and apply_torch compute in float32 (torchvision's "
        "float16 255.999 rounds to 256 and wraps 1.0 to 0)"
    )
    bounds = (
        Tolerance(float_abs=1e-3, when="dtype=float16"),
        Tolerance(float_abs=4e-3, when="dtype=bfloat16"),
        Tolerance(float_abs=1e-6),
    )

    def infer(self, p: ToDtypeParams, state: ImageState) -> ImageState:
        lo, hi = state.value_range
        if p.dtype == state.dtype:
            return state
        if p.dtype in FLOAT_DTYPES:
            if state.is_float or not p.scale:
                return state.model_copy(update={"dtype": p.dtype})
            return state.model_copy(update={"dtype": p.dtype, "value_range": (lo / 255, hi / 255)})
        # float -> uint8: values outside the target range would wrap around.
        limit = 1.0 if p.scale else 255.0
        if state.normalized or lo < 0.0 or hi > limit:
            raise ChainError(
                "dtype",
                f"float values in [0, {limit:g}] to convert to uint8 (scale={p.scale})",
                f"range ({lo:.4g}, {hi:.4g})" + (" (normalized)" if state.normalized else ""),
            )
        new = (0.0, 255.0) if p.scale else (float(int(lo)), float(int(hi)))
        return state.model_copy(update={"dtype": "uint8", "value_range": new})

    def build_dali(
        self, p: ToDtypeParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn
        import nvidia.dali.math as dmath
        import nvidia.dali.types as types

        src = ctx.state.dtype
        if p.dtype == src or (dali_dtype(p.dtype) == dali_dtype(src) and src != "uint8"):
            return image  # bfloat16 <-> float32: the same DALI type
        x = fn.cast(image, dtype=types.FLOAT, device=ctx.device)
        if p.dtype == "uint8":
            x = dmath.floor(x * (256.0 - _EPS) if p.scale else x)
            return fn.cast(x, dtype=types.UINT8, device=ctx.device)
        if src == "uint8" and p.scale:
            x = x * (1.0 / 255.0)
        if p.dtype == "float16":
            x = fn.cast(x, dtype=types.FLOAT16, device=ctx.device)
        return x

    def apply_torch(self, p: ToDtypeParams, image: Any, args: Args) -> Any:
        import torch
        from torchvision.transforms.v2 import functional as F

        if p.dtype == "uint8" and image.dtype in (torch.float16, torch.bfloat16):
            # As DALI: in float32 (in float16, 1.0 * 255.999 rounds to 256 and wraps to 0).
            image = image.to(torch.float32)
        return F.to_dtype(image, torch_dtype(p.dtype), scale=p.scale)

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        if type(t).__name__ == "ToTensor":  # v1: PIL -> float CHW in [0, 1]
            if kind != "pil":
                raise Unsupported("ToTensor on a tensor")
            return Mapped([{"op": self.name, "dtype": "float32", "scale": True}], "tensor")
        if kind == "pil":
            return Mapped([], kind)  # v2 passes PIL images through unchanged
        dtype = t.dtype
        if isinstance(dtype, dict):
            from torchvision import tv_tensors

            dtype = dtype.get(tv_tensors.Image, dtype.get("others"))
            if dtype is None:
                return Mapped([], kind)
        name = _TORCH_DTYPES.get(str(dtype))
        if name is None:
            raise Unsupported(f"dtype={dtype}: the pipeline has uint8, float32, float16, bfloat16")
        scale = bool(getattr(t, "scale", True))
        return Mapped([{"op": self.name, "dtype": name, "scale": scale}], kind)

    def batch_affine(self, p: ToDtypeParams, is_float: bool) -> BatchAffine | None:
        if is_float or p.dtype != "float32":
            return None
        return BatchAffine(div=(255.0,) if p.scale else (1.0,), to_float=True)

    def torchvision(self, p: ToDtypeParams) -> Any:
        from torchvision.transforms import v2

        return v2.ToDtype(torch_dtype(p.dtype), scale=p.scale)
