"""freq_mask: SpecAugment's frequency masking: ``num_masks`` bands of up to ``max_width``
bins set to 0 (each bin's mean after utterance_norm), start and width drawn per sample.

The draw, DALI's erase and why the fill is 0 are in :mod:`._masks`.
"""

from __future__ import annotations

from typing import Literal

from ..base import register_op
from ._masks import MaskOp, MaskParams, MaskWidth


class FreqMaskParams(MaskParams):
    op: Literal["freq_mask"] = "freq_mask"
    #: Widest mask in bins (SpecAugment's F; capped at the bins).
    max_width: MaskWidth = 27


@register_op
class FreqMask(MaskOp[FreqMaskParams]):
    name = "freq_mask"
    Params = FreqMaskParams
    axis = 0

    def cap(self, p: FreqMaskParams, extent: int) -> int:
        return min(p.max_width, extent)
