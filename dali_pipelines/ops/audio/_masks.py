"""What time_mask and freq_mask share (SpecAugment's masks): the per-sample draw of the masks'
starts and widths, DALI's ``fn.erase`` with them as argument inputs, and the reference.

Each sample draws ``num_masks`` masks (a fixed count, so the argument arrays have one shape
for every sample); width 0 is no mask. DALI's erase, measured: a region of width 0 erases
nothing, regions are clipped to the sample, overlapping regions erase their union.

The fill value is 0, not the sample's mean: SpecAugment masks normalized features, where 0 is
each bin's mean (after utterance_norm), and a constant needs no second pass over the sample
(a per-sample mean would be another DALI reduction feeding erase). On decibels relative to the
maximum, 0 dB is the loudest value: put the masks after utterance_norm.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

import numpy as np
from pydantic import Field

from ..._model import Int
from ..base import Args, DaliContext, OpParams, Size
from ..state import AudioState
from ._features import require_features
from ._wave import Probability, draw_applied
from .base import AudioOp

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

#: Masks per sample: SpecAugment uses 1 or 2 of each kind.
MaskCount = Annotated[Int, Field(ge=1, le=64)]
#: A mask's largest width in bins or frames (2 ** 20 frames is hours at a 10 ms hop).
MaskWidth = Annotated[Int, Field(ge=0, le=1 << 20)]


class MaskParams(OpParams):
    """The params both masks have; each adds its ``op`` and ``max_width``."""

    #: Masks per sample (each of width uniform in [0, the cap]; 0 is no mask).
    num_masks: MaskCount = 2
    #: Probability of masking a sample at all.
    p: Probability = 1.0


P = TypeVar("P", bound=MaskParams)


def draw_masks(rng: np.random.Generator, count: int, cap: int, extent: int, applied: bool) -> Args:
    """``count`` masks over ``extent`` bins or frames: width uniform in [0, cap], start uniform
    where the mask fits. Two uniforms per mask whatever the sizes or the coin, so the generator
    always advances by the same amount."""
    u = rng.random((count, 2))
    cap = max(0, min(cap, extent))
    widths = np.minimum(np.floor(u[:, 0] * (cap + 1)), cap)
    starts = np.minimum(np.floor(u[:, 1] * (extent - widths + 1)), extent - widths)
    if not applied:
        widths[:] = 0.0
    return {"anchor": starts.astype(np.float32), "shape": widths.astype(np.float32)}


class MaskOp(AudioOp[P]):
    """A SpecAugment mask along ``axis`` (0: bins, 1: frames) of features."""

    axis: ClassVar[int]
    random = True
    dali_operator = "fn.erase (anchor/shape argument inputs, fill_value 0)"
    reference_name = "torch slice assignment"
    tolerance = "exact (the same drawn regions set to 0)"

    @abstractmethod
    def cap(self, p: P, extent: int) -> int:
        """The widest mask for an ``extent`` of bins or frames."""

    def infer(self, p: P, state: AudioState) -> AudioState:
        require_features(state)
        if state.value_range is None:
            return state
        lo, hi = state.value_range
        return state.model_copy(update={"value_range": (min(lo, 0.0), max(hi, 0.0))})

    def arg_names(self, p: P) -> tuple[str, ...]:
        return ("anchor", "shape")

    def draw_state(
        self, p: P, state: AudioState, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        applied = draw_applied(rng, p.p)
        extent = int(size[self.axis])
        return draw_masks(rng, p.num_masks, self.cap(p, extent), extent, applied), size

    def build_dali(self, p: P, image: Any, args: Mapping[str, Any], ctx: DaliContext) -> Any:
        import nvidia.dali.fn as fn

        return fn.erase(
            image,
            device=ctx.device,
            anchor=args["anchor"],
            shape=args["shape"],
            axes=[self.axis],
            fill_value=0.0,
        )

    def reference(self, p: P, state: AudioState, x: torch.Tensor, args: Args) -> torch.Tensor:
        out = x.clone()
        for start, width in zip(args["anchor"].tolist(), args["shape"].tolist(), strict=True):
            region = slice(int(start), int(start) + int(width))
            if self.axis == 0:
                out[region, :] = 0.0
            else:
                out[:, region] = 0.0
        return out
