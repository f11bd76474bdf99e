"""horizontal_flip: torchvision's RandomHorizontalFlip(p); the flag is drawn in Python."""

from __future__ import annotations

from collections.abc import Mapping
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
    dali_operator = (
        "fn.flip (horizontal=flag argument input), or crop_mirror_normalize's mirror before "
        "normalize"
    )
    torchvision_name = "v2.RandomHorizontalFlip"
    output_window_args = ("flip",)

    def output_window(self, p: Any, args: Mapping[str, Any]) -> Mapping[str, Any]:
        # crop_mirror_normalize mirrors horizontally: the flip costs no operator of its own.
        return {"mirror": args["flip"]}

    def torchvision(self, p: Any) -> Any:
        from torchvision.transforms import v2

        return v2.RandomHorizontalFlip(p.p)
