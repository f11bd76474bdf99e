"""speed_perturb: play a wave faster or slower by a factor drawn per sample from ``factors``
(Kaldi/NeMo speed perturbation: pitch changes with tempo). A factor f turns T samples into
``ceil(T / f)`` at the same sample rate: the wave is resampled from rate f to rate 1 and
band-limited as in ``resample`` (soxr HQ's filter, then ``fn.audio_resample``).

Factors are multiples of 0.001, so each is an exact ratio of integers ``in/out`` handed to
``fn.audio_resample(in_rate=in, out_rate=out)`` (double precision) instead of a float32
``scale = 1/f``: the output length is then DALI's ``ceil(T * out / in)`` exactly
(:func:`.resampled_length`), and the padded graph keeps the output grid on the input's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field, field_validator

from ..._model import Float
from ..base import Args, DaliContext, OpParams, Size, Tolerance, register_op
from ..state import AudioState
from ._resampling import RESAMPLE_ARGS, build_resample, resample_args, soxr_resample
from .base import AudioOp, require_wave, resampled_length

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

#: A speed factor: half to double speed (beyond, speech stops being speech).
Factor = Annotated[Float, Field(ge=0.5, le=2.0)]
#: Factors are multiples of 1 / FACTOR_DENOMINATOR (an exact integer rate ratio).
FACTOR_DENOMINATOR = 1000


class SpeedPerturbParams(OpParams):
    op: Literal["speed_perturb"] = "speed_perturb"
    #: The speed factors, one drawn uniformly per sample (> 1 is faster and shorter; include
    #: 1.0 to leave some samples unchanged).
    factors: tuple[Factor, ...] = Field(default=(0.9, 1.0, 1.1), min_length=1, max_length=32)

    @field_validator("factors")
    @classmethod
    def _exact(cls, factors: tuple[float, ...]) -> tuple[float, ...]:
        for f in factors:
            if abs(f * FACTOR_DENOMINATOR - round(f * FACTOR_DENOMINATOR)) > 1e-6:
                raise ValueError(f"factors: expected multiples of 0.001, got {f!r}")
        return factors


def rate_ratio(factor: float) -> tuple[int, int]:
    """(in, out) rates, coprime, with ``in / out == factor``."""
    num = round(factor * FACTOR_DENOMINATOR)
    g = math.gcd(num, FACTOR_DENOMINATOR)
    return num // g, FACTOR_DENOMINATOR // g


@register_op
class SpeedPerturb(AudioOp[SpeedPerturbParams]):
    name = "speed_perturb"
    Params = SpeedPerturbParams
    random = True
    dali_operator = "fn.slice + fn.filter (anti-aliasing) + fn.audio_resample + fn.slice"
    reference_name = 'soxr.resample(quality="HQ") from rate f to rate 1'
    tolerance = (
        "max abs diff <= 0.06 on waves in [-1, 1] (measured 0.045, white noise slowed down "
        "by 0.9 at 44.1 kHz), as resample: the same band limit as soxr HQ; what is left is "
        "DALI's 16-lobe interpolator near the top of the band"
    )
    bounds = (Tolerance(float_abs=0.06),)

    def infer(self, p: SpeedPerturbParams, state: AudioState) -> AudioState:
        require_wave(state)
        ratios = {rate_ratio(f) for f in p.factors}
        length = state.length
        if length is not None:
            lengths = {resampled_length(length, a, b) for a, b in ratios}
            length = lengths.pop() if len(lengths) == 1 else None
        # A band-limited signal overshoots its samples' range (Gibbs): no bound is kept.
        same = ratios == {(1, 1)}
        value_range = state.value_range if same else None
        return state.model_copy(update={"length": length, "value_range": value_range})

    def arg_names(self, p: SpeedPerturbParams) -> tuple[str, ...]:
        return ("in_rate", "out_rate", *RESAMPLE_ARGS)

    def draw_state(
        self, p: SpeedPerturbParams, state: AudioState, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        channels, samples = size
        a, b = rate_ratio(p.factors[int(rng.integers(len(p.factors)))])
        args = resample_args(samples, a, b)
        args["in_rate"] = np.array(a, dtype=np.float32)
        args["out_rate"] = np.array(b, dtype=np.float32)
        return args, (channels, resampled_length(samples, a, b))

    def build_dali(
        self, p: SpeedPerturbParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        channels = ctx.state.channels
        return build_resample(image, args, args["in_rate"], args["out_rate"], channels, ctx.device)

    def reference(
        self, p: SpeedPerturbParams, state: AudioState, x: torch.Tensor, args: Args
    ) -> torch.Tensor:
        return soxr_resample(x, int(args["in_rate"]), int(args["out_rate"]))
