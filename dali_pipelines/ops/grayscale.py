"""grayscale: torchvision's Grayscale(num_output_channels), bit-exact.

DALI's ``color_space_conversion`` uses 0.299/0.587/0.114 and rounds; torchvision weighs with
0.2989/0.587/0.114 and truncates to uint8 (so even a grey pixel v becomes v - 1). The graph
reproduces torchvision's arithmetic: a ``coord_transform`` with its weights, then floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from .._model import exact_int
from ._translate import Accepts, Mapped
from .base import Args, DaliContext, Op, OpParams, Tolerance, register_op
from .state import ChainError, ImageState

WEIGHTS = (0.2989, 0.587, 0.114)


class GrayscaleParams(OpParams):
    op: Literal["grayscale"] = "grayscale"
    #: 1 for a single grey channel, 3 to repeat it (keeps RGB-shaped inputs for later ops).
    num_output_channels: Annotated[Literal[1, 3], BeforeValidator(exact_int)] = 1


@register_op
class Grayscale(Op[GrayscaleParams]):
    name = "grayscale"
    Params = GrayscaleParams
    batchable = True
    size_free = True
    needs_sample_index = False
    box_rule = "keep"
    fuses_output = False
    fuses_decode = False
    torchvision_classes = ("Grayscale",)
    pixelwise = True
    dali_operator = "fn.coord_transform (torchvision's weights) + math.floor"
    torchvision_name = "v2.Grayscale"
    tolerance = "exact (uint8: same weights and truncation; float: <= 1e-6)"
    bounds = (Tolerance(float_abs=1e-6),)

    def infer(self, p: GrayscaleParams, state: ImageState) -> ImageState:
        if state.channels not in (1, 3):
            raise ChainError("input", "1 or 3 channels", f"{state.channels} channels")
        return state.model_copy(update={"channels": p.num_output_channels})

    def build_dali(
        self, p: GrayscaleParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn
        import nvidia.dali.math as dmath
        import nvidia.dali.types as types

        n = p.num_output_channels
        if ctx.state.channels == 1:
            # torchvision copies a single channel as it is.
            return image if n == 1 else fn.cat(image, image, image, axis=2, device=ctx.device)
        # One matrix row per output channel: three equal rows give the 3-channel grey directly.
        gray = fn.coord_transform(image, M=list(WEIGHTS) * n, dtype=types.FLOAT, device=ctx.device)
        if ctx.state.dtype == "float16":
            return fn.cast(gray, dtype=types.FLOAT16, device=ctx.device)
        if ctx.state.is_float:
            return gray  # float32 (also for bfloat16, which DALI carries as float32)
        return fn.cast(dmath.floor(gray), dtype=types.UINT8, device=ctx.device)

    def apply_torch(self, p: GrayscaleParams, image: Any, args: Args) -> Any:
        from torchvision.transforms.v2 import functional as F

        return F.rgb_to_grayscale(image, num_output_channels=p.num_output_channels)

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        note = "PIL's integer grey weights: <= 1 level" if kind == "pil" else ""
        op = {"op": self.name, "num_output_channels": int(t.num_output_channels)}
        return Mapped([op], kind, note, not note)

    def torchvision(self, p: GrayscaleParams) -> Any:
        from torchvision.transforms import v2

        return v2.Grayscale(num_output_channels=p.num_output_channels)
