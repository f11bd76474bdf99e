"""mel_filter_bank: a spectrogram's bins summed by ``n_mels`` triangular filters evenly spaced
on the mel scale between ``fmin`` and ``fmax``, ``(n_mels, frames)``.

The filters are librosa's (``librosa.filters.mel``, measured equal to DALI's within float32
rounding): the Slaney mel scale (linear below 1 kHz) or HTK's, and with ``norm="slaney"``
each filter divided by its width in Hz (area 1) instead of peaking at 1. DALI and librosa
place the input's bins at ``linspace(0, rate / 2, bins)``, exact for an even ``n_fft``. A
filter between two adjacent bins would be all zeros (a dead feature, -inf dB): the shape rule
refuses such params.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ..._model import Float
from ..base import Args, DaliContext, OpParams, Size, Tolerance, register_op
from ..state import AudioState, ChainError
from ._features import BinCount
from .base import AudioOp, require_kind

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

MelScale = Literal["slaney", "htk"]
#: A frequency in Hz: at most 192 kHz, half the highest decode rate.
Hertz = Annotated[Float, Field(ge=0.0, le=192_000.0)]


class MelFilterBankParams(OpParams):
    op: Literal["mel_filter_bank"] = "mel_filter_bank"
    #: Number of mel filters (output bins).
    n_mels: BinCount = 80
    #: Lowest frequency in Hz.
    fmin: Hertz = 0.0
    #: Highest frequency in Hz (`None`: half the sample rate).
    fmax: Hertz | None = None
    #: `slaney`: each filter has area 1 (divided by its width in Hz); `None`: peaks at 1.
    norm: Literal["slaney"] | None = "slaney"
    #: The mel scale: `slaney` (linear below 1 kHz, librosa's default) or `htk`.
    mel_scale: MelScale = "slaney"

    @model_validator(mode="after")
    def _ordered(self) -> MelFilterBankParams:
        if self.fmax is not None and self.fmax <= self.fmin:
            raise ValueError(f"fmax: expected > fmin ({self.fmin:g}), got {self.fmax:g}")
        return self


def hz_to_mel(hz: np.ndarray, scale: MelScale) -> np.ndarray:
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    # Slaney: 3 mels per 200 Hz up to 1 kHz, then logarithmic (27 mels per factor 6.4).
    log_step = np.log(6.4) / 27.0
    linear = hz / (200.0 / 3.0)
    return np.where(hz < 1000.0, linear, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / log_step)


def mel_to_hz(mel: np.ndarray, scale: MelScale) -> np.ndarray:
    if scale == "htk":
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    log_step = np.log(6.4) / 27.0
    return np.where(mel < 15.0, mel * (200.0 / 3.0), 1000.0 * np.exp(log_step * (mel - 15.0)))


def empty_filters(p: MelFilterBankParams, bins: int, rate: float) -> int:
    """How many filters cover no bin strictly inside their triangle (all-zero weights)."""
    fmax = rate / 2.0 if p.fmax is None else p.fmax
    mels = np.linspace(
        hz_to_mel(np.array(p.fmin), p.mel_scale),
        hz_to_mel(np.array(fmax), p.mel_scale),
        p.n_mels + 2,
    )
    edges = mel_to_hz(mels, p.mel_scale)
    freqs = np.linspace(0.0, rate / 2.0, bins)
    inside = (freqs[None, :] > edges[:-2, None]) & (freqs[None, :] < edges[2:, None])
    return int((~inside.any(axis=1)).sum())


@register_op
class MelFilterBank(AudioOp[MelFilterBankParams]):
    name = "mel_filter_bank"
    Params = MelFilterBankParams
    dali_operator = "fn.mel_filter_bank"
    reference_name = "librosa.filters.mel basis @ spectrogram (float64)"
    tolerance = (
        "DALI's float32 weights and sums vs librosa's basis in float64: max abs diff about "
        "3e-6 of the largest value (peak-1 filters sum power into thousands)"
    )
    bounds = (Tolerance(float_abs=0.1, when="norm=None"), Tolerance(float_abs=2e-3))

    def _fmax(self, p: MelFilterBankParams, state: AudioState) -> float:
        return state.sample_rate / 2.0 if p.fmax is None else p.fmax

    def infer(self, p: MelFilterBankParams, state: AudioState) -> AudioState:
        require_kind(state, ("spectrogram",))
        nyquist = state.sample_rate / 2.0
        fmax = self._fmax(p, state)
        if fmax > nyquist:
            raise ChainError("fmax", f"<= {nyquist:g} Hz (half the sample rate)", f"{fmax:g}")
        if p.fmin >= fmax:
            raise ChainError("fmin", f"< fmax ({fmax:g} Hz)", f"{p.fmin:g}")
        bins = int(state.bins or 0)
        empty = empty_filters(p, bins, float(state.sample_rate))
        if empty:
            raise ChainError(
                "n_mels",
                f"filters that each cover a frequency bin ({bins} bins over 0-{nyquist:g} Hz): "
                "fewer mels, a larger n_fft or a wider fmin-fmax",
                f"{p.n_mels} with {empty} empty",
            )
        return state.model_copy(update={"kind": "mel", "bins": p.n_mels})

    def draw_state(
        self, p: MelFilterBankParams, state: AudioState, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        return {}, (p.n_mels, size[1])

    def build_dali(
        self, p: MelFilterBankParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn

        return fn.mel_filter_bank(
            image,
            device=ctx.device,
            sample_rate=float(ctx.state.sample_rate),
            nfilter=p.n_mels,
            freq_low=p.fmin,
            freq_high=self._fmax(p, ctx.state),
            mel_formula=p.mel_scale,
            normalize=p.norm == "slaney",
        )

    def reference(
        self, p: MelFilterBankParams, state: AudioState, x: torch.Tensor, args: Args
    ) -> torch.Tensor:
        import librosa
        import torch

        basis = librosa.filters.mel(
            sr=state.sample_rate,
            n_fft=2 * (int(x.shape[0]) - 1),
            n_mels=p.n_mels,
            fmin=p.fmin,
            fmax=self._fmax(p, state),
            htk=p.mel_scale == "htk",
            norm=p.norm,
            dtype=np.float64,
        )
        return (torch.from_numpy(basis) @ x.to(torch.float64)).to(torch.float32)
