"""resample: change a wave's sample rate to ``rate`` Hz, band-limited like soxr's "HQ" quality
(``fn.audio_resample`` after an anti-aliasing low-pass; the design is in ``_resampling.py``).
The length follows DALI's rule ``ceil(T * rate / in_rate)``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from ..._model import Int
from ..base import Args, DaliContext, OpParams, Size, Tolerance, register_op
from ..state import AudioState
from ._resampling import build_resample, soxr_resample, static_resample_args
from .base import AudioOp, require_wave, resampled_length

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

#: Sample rates accepted: 1 kHz (below any speech use) to 384 kHz (the highest audio rate).
MIN_RATE, MAX_RATE = 1000, 384000


class ResampleParams(OpParams):
    op: Literal["resample"] = "resample"
    #: The target sample rate in Hz.
    rate: Int = Field(ge=MIN_RATE, le=MAX_RATE)


@register_op
class Resample(AudioOp[ResampleParams]):
    name = "resample"
    Params = ResampleParams
    dali_operator = "fn.slice + fn.filter (anti-aliasing) + fn.audio_resample + fn.slice"
    reference_name = 'soxr.resample(quality="HQ")'
    tolerance = (
        "max abs diff <= 0.05 on waves in [-1, 1] (measured 0.037: tones, chirps, white noise, "
        "8-48 kHz, edges included): the same band limit as soxr HQ; what is left is DALI's "
        "16-lobe interpolator near the top of the band (largest when upsampling white noise). "
        "fn.audio_resample alone does not anti-alias: content above the new Nyquist would fold "
        "back at full amplitude"
    )
    bounds = (Tolerance(float_abs=0.05),)

    def infer(self, p: ResampleParams, state: AudioState) -> AudioState:
        require_wave(state)
        length = state.length
        if length is not None:
            length = resampled_length(length, state.sample_rate, p.rate)
        # A band-limited signal overshoots its samples' range (Gibbs): no bound is kept.
        value_range = state.value_range if p.rate == state.sample_rate else None
        return state.model_copy(
            update={"sample_rate": p.rate, "length": length, "value_range": value_range}
        )

    def draw_state(
        self, p: ResampleParams, state: AudioState, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        # Nothing drawn or fed: the graph's windows follow from the wave's run-time length.
        channels, samples = size
        return {}, (channels, resampled_length(samples, state.sample_rate, p.rate))

    def build_dali(
        self, p: ResampleParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        state: AudioState = ctx.state
        if p.rate == state.sample_rate:
            return image  # nothing to do (DALI would copy through a 1-tap filter)
        windows = static_resample_args(image, state.sample_rate, p.rate)
        return build_resample(
            image, windows, float(state.sample_rate), float(p.rate), state.channels, ctx.device
        )

    def reference(
        self, p: ResampleParams, state: AudioState, x: torch.Tensor, args: Args
    ) -> torch.Tensor:
        return soxr_resample(x, state.sample_rate, p.rate)
