"""time_shift: shift a wave by s ~ U{-m..m} samples (m = round(max_seconds * rate)) with
probability ``p``, filling with zeros (no wrap-around); the length is unchanged. A positive s
delays the wave (``y[t] = x[t - s]``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..base import Args, DaliContext, OpParams, Size, register_op
from ..state import AudioState
from ._wave import Probability, Seconds, draw_applied, window, with_zero
from .base import AudioOp, require_wave

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch


class TimeShiftParams(OpParams):
    op: Literal["time_shift"] = "time_shift"
    #: The largest shift either way, in seconds.
    max_seconds: Seconds
    #: Probability of shifting a sample (otherwise the shift is 0).
    p: Probability = 0.5


@register_op
class TimeShift(AudioOp[TimeShiftParams]):
    name = "time_shift"
    Params = TimeShiftParams
    random = True
    dali_operator = "fn.slice (axis 0, anchor -s, out_of_bounds_policy='pad', fill 0)"
    reference_name = "torch slicing + torch.nn.functional.pad"
    tolerance = "exact (the same window, copied samples and zeros)"

    def infer(self, p: TimeShiftParams, state: AudioState) -> AudioState:
        require_wave(state)
        if p.p == 0.0:
            return state
        return state.model_copy(update={"value_range": with_zero(state.value_range)})

    def arg_names(self, p: TimeShiftParams) -> tuple[str, ...]:
        return ("start", "shape")

    def draw_state(
        self, p: TimeShiftParams, state: AudioState, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        applied = draw_applied(rng, p.p)
        most = round(p.max_seconds * state.sample_rate)
        drawn = int(rng.integers(-most, most + 1))
        shift = drawn if applied else 0
        # y[t] = x[t - shift]: the window of x starts at -shift.
        args = {
            "start": np.array([-shift], dtype=np.int32),
            "shape": np.array([size[1]], dtype=np.int32),
        }
        return args, size

    def build_dali(
        self, p: TimeShiftParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn

        return fn.slice(
            image,
            start=args["start"],
            shape=args["shape"],
            axes=[0],
            out_of_bounds_policy="pad",
            fill_values=0.0,
            device=ctx.device,
        )

    def reference(
        self, p: TimeShiftParams, state: AudioState, x: torch.Tensor, args: Args
    ) -> torch.Tensor:
        return window(x, int(args["start"][0]), int(args["shape"][0]))
