"""fix_duration: crop a longer wave / zero-pad a shorter one to exactly ``round(seconds * rate)``
samples, so every sample of a batch has one length.

``position`` places the kept window: ``"start"`` keeps the beginning (pads at the end),
``"center"`` cuts or pads ``floor((T - n) / 2)`` samples before (the odd one after), and
``"random"`` draws the window's start uniformly per sample: a crop starts at U{0..T-n}, and a
short wave is padded at a random offset too (it starts at U{0..n-T} in the output), so the
padding is not always at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..base import Args, DaliContext, OpParams, Size, register_op
from ..state import AudioState
from ._wave import Seconds, window, with_zero
from .base import AudioOp, require_wave

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

Position = Literal["random", "center", "start"]


class FixDurationParams(OpParams):
    op: Literal["fix_duration"] = "fix_duration"
    #: The output duration in seconds (round(seconds * rate) samples).
    seconds: Seconds
    #: Where the kept window lies: drawn per sample, centred, or at the start.
    position: Position = "random"


def fixed_length(seconds: float, rate: int) -> int:
    """``round(seconds * rate)`` (half to even, Python's round), at least one sample."""
    return max(1, round(seconds * rate))


@register_op
class FixDuration(AudioOp[FixDurationParams]):
    name = "fix_duration"
    Params = FixDurationParams
    random = True
    dali_operator = "fn.slice (axis 0, out_of_bounds_policy='pad', fill 0)"
    reference_name = "torch slicing + torch.nn.functional.pad"
    tolerance = "exact (the same window, copied samples and zeros)"

    def infer(self, p: FixDurationParams, state: AudioState) -> AudioState:
        require_wave(state)
        length = fixed_length(p.seconds, state.sample_rate)
        # A crop of a longer wave adds no zeros; any shorter input gets zero padding.
        pads = state.length is None or state.length < length
        value_range = with_zero(state.value_range) if pads else state.value_range
        return state.model_copy(update={"length": length, "value_range": value_range})

    def arg_names(self, p: FixDurationParams) -> tuple[str, ...]:
        return ("start",)

    def draw_state(
        self, p: FixDurationParams, state: AudioState, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        channels, samples = size
        length = fixed_length(p.seconds, state.sample_rate)
        slack = samples - length  # > 0: crop that many; < 0: pad that many
        if p.position == "start":
            start = 0
        elif p.position == "center":
            start = slack // 2
        elif slack >= 0:
            start = int(rng.integers(0, slack + 1))
        else:
            start = -int(rng.integers(0, -slack + 1))
        return {"start": np.array([start], dtype=np.int32)}, (channels, length)

    def build_dali(
        self, p: FixDurationParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn

        return fn.slice(
            image,
            start=args["start"],
            shape=[fixed_length(p.seconds, ctx.state.sample_rate)],
            axes=[0],
            out_of_bounds_policy="pad",
            fill_values=0.0,
            device=ctx.device,
        )

    def reference(
        self, p: FixDurationParams, state: AudioState, x: torch.Tensor, args: Args
    ) -> torch.Tensor:
        return window(x, int(args["start"][0]), fixed_length(p.seconds, state.sample_rate))
