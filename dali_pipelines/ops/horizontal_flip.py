"""horizontal_flip: torchvision's RandomHorizontalFlip(p); the flag is drawn in Python."""

from __future__ import annotations

from typing import Any, Literal

from ._flip import FlipOp, FlipParams
from .base import register_op


class HorizontalFlipParams(FlipParams):
    op: Literal["horizontal_flip"] = "horizontal_flip"


@register_op
class HorizontalFlip(FlipOp):
    name = "horizontal_flip"
    Params = HorizontalFlipParams
    torchvision_classes = ("RandomHorizontalFlip",)
    axis = "horizontal"
    dali_operator = "fn.flip (horizontal=flag argument input)"
    torchvision_name = "v2.RandomHorizontalFlip"

    def torchvision(self, p: Any) -> Any:
        from torchvision.transforms import v2

        return v2.RandomHorizontalFlip(p.p)
