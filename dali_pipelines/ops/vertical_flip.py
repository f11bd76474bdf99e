"""vertical_flip: torchvision's RandomVerticalFlip(p); the flag is drawn in Python."""

from __future__ import annotations

from typing import Any, Literal

from ._flip import FlipOp, FlipParams
from .base import register_op


class VerticalFlipParams(FlipParams):
    op: Literal["vertical_flip"] = "vertical_flip"


@register_op
class VerticalFlip(FlipOp):
    name = "vertical_flip"
    Params = VerticalFlipParams
    torchvision_classes = ("RandomVerticalFlip",)
    axis = "vertical"
    dali_operator = "fn.flip (vertical=flag argument input)"
    torchvision_name = "v2.RandomVerticalFlip"

    def torchvision(self, p: Any) -> Any:
        from torchvision.transforms import v2

        return v2.RandomVerticalFlip(p.p)
