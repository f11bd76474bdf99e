"""spectrogram: the short-time Fourier transform's magnitude (``power`` 1) or power (2) of a
mono wave, ``(n_fft // 2 + 1, frames)``; sizes are in samples.

Sizes are samples, not milliseconds: the FFT needs a whole number of samples and the frame
rule (:class:`~dali_pipelines.ops.state.FrameRule`) counts samples, so a duration would be
rounded at each sample rate; the audio decode fixes one rate, at which 25 ms / 10 ms windows
are 400 / 160 samples (the defaults, at 16 kHz).

DALI's window placement, measured: with ``center`` the wave is padded by ``win_length // 2``
on each side (reflected about the edge samples, repeatedly for a wave shorter than the
padding, or zeros) and window t starts at ``t * hop_length - win_length // 2``; without, window
t starts at ``t * hop_length`` (a last partial window is zero-padded: see the frame rule). The
window (``win_length`` samples) is zero-padded to ``n_fft``. DALI's own default Hann window is
shifted by half a sample (``0.5 - 0.5 cos(2 pi (i + 0.5) / N)``), neither torch's nor librosa's:
the op always passes its window explicitly, the periodic one torch and librosa use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BeforeValidator, model_validator

from ..._model import Bool, exact_int
from ..base import Args, DaliContext, OpParams, Size, Tolerance, register_op
from ..state import AudioState, ChainError, FrameRule
from ._features import FFTSize, WindowSize
from .base import AudioOp, require_wave

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

Window = Literal["hann", "hamming"]


class SpectrogramParams(OpParams):
    op: Literal["spectrogram"] = "spectrogram"
    #: FFT size in samples; the output has `n_fft // 2 + 1` frequency bins.
    n_fft: FFTSize = 512
    #: Window length in samples (<= n_fft; the window is zero-padded to n_fft).
    win_length: WindowSize = 400
    #: Step between windows in samples.
    hop_length: WindowSize = 160
    #: The periodic window function (torch's and librosa's `hann`/`hamming`).
    window: Window = "hann"
    #: 1: magnitude, 2: power.
    power: Annotated[Literal[1, 2], BeforeValidator(exact_int)] = 2
    #: Pad the wave by half a window on each side, so window t is centred at `t * hop_length`.
    center: Bool = True
    #: The padding with `center`: the wave reflected about its edge samples, or zeros.
    pad_mode: Literal["reflect", "constant"] = "reflect"

    @model_validator(mode="after")
    def _window_fits(self) -> SpectrogramParams:
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length: expected <= n_fft ({self.n_fft}), got {self.win_length}")
        return self


def window_samples(kind: Window, length: int) -> list[float]:
    """The periodic window handed to DALI (``window_fn``): numpy's formula, float32 values;
    a window of one sample is ``[1]``, as torch's (the formula gives 0, a silent output)."""
    if length == 1:
        return [1.0]
    phase = 2.0 * np.pi * np.arange(length) / length
    a0 = 0.5 if kind == "hann" else 0.54
    values = a0 - (1.0 - a0) * np.cos(phase)
    return [float(v) for v in values.astype(np.float32)]


def frame_rule(p: SpectrogramParams) -> FrameRule:
    return FrameRule(window=p.win_length, hop=p.hop_length, center=p.center)


def reflect_indices(samples: int, left: int, right: int) -> np.ndarray:
    """Indices of a wave of ``samples`` padded by reflection about its edge samples (no edge
    repeat), folding again and again where the padding is longer than the wave (DALI's)."""
    positions = np.arange(-left, samples + right)
    if samples == 1:
        return np.zeros_like(positions)
    period = 2 * (samples - 1)
    folded = np.mod(positions, period)
    return np.where(folded >= samples, period - folded, folded)


@register_op
class Spectrogram(AudioOp[SpectrogramParams]):
    name = "spectrogram"
    Params = SpectrogramParams
    dali_operator = 'fn.spectrogram (layout "ft", explicit window_fn)'
    reference_name = "torch.stft (same padding and window, float64)"
    tolerance = (
        "float32 FFT (DALI) vs float64 torch.stft: max abs diff about 2e-7 of the largest "
        "value (6e-4 on power up to 4e3 from waves in [-1, 1]); the bounds hold for such waves"
    )
    bounds = (Tolerance(float_abs=5e-3, when="power=2"), Tolerance(float_abs=1e-4))

    def infer(self, p: SpectrogramParams, state: AudioState) -> AudioState:
        require_wave(state)
        if state.channels != 1:
            raise ChainError(
                "input",
                "a mono wave (downmix in the decode: audio.mono: true)",
                f"{state.channels} channels",
            )
        rule = frame_rule(p)
        length = None
        if state.length is not None:
            length = rule.frames(state.length)
            if length == 0:
                raise ChainError(
                    "win_length",
                    f"<= {state.length + p.hop_length - 1} samples without center (DALI "
                    f"needs a window within the wave of {state.length} samples + hop - 1)",
                    p.win_length,
                )
        return state.model_copy(
            update={
                "kind": "spectrogram",
                "bins": p.n_fft // 2 + 1,
                "frames": rule,
                "length": length,
                "power": p.power,
                "dtype": "float32",
                "value_range": None,
            }
        )

    def draw_state(
        self, p: SpectrogramParams, state: AudioState, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        return {}, (p.n_fft // 2 + 1, frame_rule(p).frames(size[1]))

    def build_dali(
        self, p: SpectrogramParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn

        return fn.spectrogram(
            image,
            device=ctx.device,
            nfft=p.n_fft,
            window_length=p.win_length,
            window_step=p.hop_length,
            window_fn=window_samples(p.window, p.win_length),
            power=p.power,
            center_windows=p.center,
            reflect_padding=p.pad_mode == "reflect",
            layout="ft",
        )

    def reference(
        self, p: SpectrogramParams, state: AudioState, x: torch.Tensor, args: Args
    ) -> torch.Tensor:
        import torch

        wave = x.reshape(-1).to(torch.float64)
        samples = int(wave.shape[0])
        frames = frame_rule(p).frames(samples)
        left = p.win_length // 2 if p.center else 0
        # Window t covers padded[t * hop : t * hop + win_length]; pad far enough on the right.
        right = max(0, (frames - 1) * p.hop_length + p.win_length - left - samples)
        if p.center and p.pad_mode == "reflect":
            wave = wave[torch.from_numpy(reflect_indices(samples, left, right))]
        else:
            wave = torch.nn.functional.pad(wave, (left, right))
        # torch.stft centres a shorter window in each n_fft frame: shift the wave by that offset
        # so torch's window t covers the same samples as DALI's.
        offset = (p.n_fft - p.win_length) // 2
        wave = torch.nn.functional.pad(wave, (offset, p.n_fft - p.win_length - offset))
        make = torch.hann_window if p.window == "hann" else torch.hamming_window
        spec = torch.stft(
            wave,
            n_fft=p.n_fft,
            hop_length=p.hop_length,
            win_length=p.win_length,
            window=make(p.win_length, periodic=True, dtype=torch.float64),
            center=False,
            return_complex=True,
        )[:, :frames]
        out = spec.abs() if p.power == 1 else spec.real**2 + spec.imag**2
        return out.to(torch.float32)
