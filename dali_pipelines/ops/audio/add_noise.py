"""add_noise: white Gaussian noise at an SNR ~ U[min_snr_db, max_snr_db] relative to the
sample's RMS, with probability ``p`` (torch-audiomentations' ``AddColoredNoise`` with white
noise; audiomentations' ``AddGaussianSNR``).

``y = x + n * (rms(x) * 10 ** (-snr / 20))``, n ~ N(0, 1) per value, rms over every value of the
sample (all channels). The noise values are drawn in :meth:`draw_state` from the seed policy's
generator and fed to DALI as an input of the wave's shape; the graph computes the RMS itself
(``fn.reductions.rms``), so a silent sample (RMS 0) gets no noise. A sample the op skips gets a
factor of 0 (its noise is still drawn, so later ops' draws do not depend on the coin).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import model_validator

from ..base import Args, DaliContext, OpParams, Size, Tolerance, register_op
from ..state import AudioState
from ._wave import Decibels, Probability, check_order, db_to_factor, draw_applied, on_device
from .base import AudioOp, require_wave

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch


class AddNoiseParams(OpParams):
    op: Literal["add_noise"] = "add_noise"
    #: Lowest signal-to-noise ratio in dB (more noise).
    min_snr_db: Decibels = 5.0
    #: Highest signal-to-noise ratio in dB (>= min_snr_db).
    max_snr_db: Decibels = 40.0
    #: Probability of adding noise to a sample.
    p: Probability = 0.5

    @model_validator(mode="after")
    def _ordered(self) -> AddNoiseParams:
        check_order("min_snr_db", self.min_snr_db, "max_snr_db", self.max_snr_db)
        return self


@register_op
class AddNoise(AudioOp[AddNoiseParams]):
    name = "add_noise"
    Params = AddNoiseParams
    random = True
    dali_operator = "fn.reductions.rms + arithmetic (noise input drawn in Python)"
    reference_name = "torch (x + noise * rms * factor)"
    tolerance = (
        "max abs diff <= 1e-5 (measured ~1e-7): the same noise and factor; the RMS is "
        "rounded to float32 by DALI and in double by the reference"
    )
    bounds = (Tolerance(float_abs=1e-5),)

    def infer(self, p: AddNoiseParams, state: AudioState) -> AudioState:
        require_wave(state)
        if p.p == 0.0:
            return state
        return state.model_copy(update={"value_range": None})  # Gaussian noise is unbounded

    def arg_names(self, p: AddNoiseParams) -> tuple[str, ...]:
        return ("noise", "factor")

    def draw_state(
        self, p: AddNoiseParams, state: AudioState, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        applied = draw_applied(rng, p.p)
        snr = float(rng.uniform(p.min_snr_db, p.max_snr_db))
        channels, samples = size
        # DALI's wave layout: (T,) mono, (T, C) otherwise.
        shape = (samples,) if channels == 1 else (samples, channels)
        noise = rng.standard_normal(shape, dtype=np.float32)
        factor = db_to_factor(-snr) if applied else np.array(0.0, dtype=np.float32)
        return {"noise": noise, "factor": factor}, size

    def build_dali(
        self, p: AddNoiseParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn

        noise = on_device(args["noise"], ctx.device)
        scale = fn.reductions.rms(image, device=ctx.device) * on_device(args["factor"], ctx.device)
        return image + noise * scale

    def reference(
        self, p: AddNoiseParams, state: AudioState, x: torch.Tensor, args: Args
    ) -> torch.Tensor:
        import torch

        rms = torch.sqrt(torch.mean(x.double() ** 2)).float()
        noise = torch.from_numpy(np.array(args["noise"], dtype=np.float32))
        noise = noise[None, :] if noise.ndim == 1 else noise.T
        scale = rms * torch.from_numpy(np.array(args["factor"], dtype=np.float32))
        return x + noise * scale
