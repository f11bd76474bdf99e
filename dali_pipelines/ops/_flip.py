"""Shared body of horizontal_flip and vertical_flip: a 0/1 flag drawn with probability ``p``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import Field

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

from ._boxes import flip_boxes
from ._translate import Accepts, Mapped
from ._types import Float
from .base import Args, BatchAffine, DaliContext, Op, OpParams, Size
from .state import ImageState


class FlipParams(OpParams):
    #: Probability of flipping each sample.
    p: Float = Field(default=0.5, ge=0.0, le=1.0)


class FlipOp(Op[Any]):
    random = True
    geometric = True
    batchable = True  # per-sample flags
    size_free = True
    needs_sample_index = False
    box_rule = "move"
    fuses_output = False
    fuses_decode = False
    #: The ``fn.flip`` argument that takes the flag ("horizontal" or "vertical").
    axis: ClassVar[str]
    tolerance = "exact (a pure pixel permutation)"

    def arg_names(self, p: Any) -> tuple[str, ...]:
        return ("flip",)

    def draw(self, p: Any, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        # Same rule as torchvision: flip when a U[0, 1) draw is below p.
        return {"flip": np.array(int(rng.random() < p.p), dtype=np.int32)}, size

    def apply_batch(self, p: Any, batch: torch.Tensor, args: list[Args]) -> torch.Tensor:
        import torch

        flags = torch.tensor([bool(a["flip"]) for a in args], device=batch.device)
        return torch.where(flags[:, None, None, None], batch.flip(self._dim), batch)

    def batch_affine(self, p: Any, is_float: bool) -> BatchAffine:
        return BatchAffine(flip_dim=self._dim)

    @property
    def _dim(self) -> int:
        return -1 if self.axis == "horizontal" else -2

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        return Mapped([{"op": self.name, "p": float(t.p)}], kind)

    def transform_boxes(self, p: Any, boxes: np.ndarray, args: Args, size: Size) -> np.ndarray:
        if not int(args["flip"]):
            return boxes
        return flip_boxes(boxes, size, horizontal=self.axis == "horizontal")

    def build_dali(self, p: Any, image: Any, args: Mapping[str, Any], ctx: DaliContext) -> Any:
        import nvidia.dali.fn as fn

        other = "vertical" if self.axis == "horizontal" else "horizontal"
        return fn.flip(image, device=ctx.device, **{self.axis: args["flip"], other: 0})

    def apply_torch(self, p: Any, image: Any, args: Args) -> Any:
        from torchvision.transforms.v2 import functional as F

        if not int(args["flip"]):
            return image
        return F.horizontal_flip(image) if self.axis == "horizontal" else F.vertical_flip(image)
