"""time_mask: SpecAugment's time masking: ``num_masks`` spans of up to ``max_width`` frames
(and at most ``max_fraction`` of the sample's frames) set to 0 (each bin's mean after
utterance_norm), start and width drawn per sample.

The draw, DALI's erase and why the fill is 0 are in :mod:`._masks`.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field

from ..._model import Float
from ..base import register_op
from ._masks import MaskOp, MaskParams, MaskWidth


class TimeMaskParams(MaskParams):
    op: Literal["time_mask"] = "time_mask"
    #: Widest mask in frames (SpecAugment's T).
    max_width: MaskWidth = 100
    #: Widest mask as a fraction of the sample's frames (SpecAugment's p); the cap is the
    #: smaller of the two.
    max_fraction: Annotated[Float, Field(gt=0.0, le=1.0)] = 1.0


@register_op
class TimeMask(MaskOp[TimeMaskParams]):
    name = "time_mask"
    Params = TimeMaskParams
    axis = 1

    def cap(self, p: TimeMaskParams, extent: int) -> int:
        return min(p.max_width, math.floor(p.max_fraction * extent))
