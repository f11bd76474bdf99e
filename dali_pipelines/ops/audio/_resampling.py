"""Band-limited resampling in DALI that matches soxr's "HQ" quality, shared by resample and
speed_perturb.

``fn.audio_resample`` alone is a windowed-sinc interpolator at the *input* rate (16 lobes, Hann
envelope at the default quality 50) with no anti-aliasing: downsampling folds everything above
the new Nyquist back into the band at full amplitude (measured: a 6 kHz tone resampled 16 ->
8 kHz comes out as a 2 kHz tone of the same RMS; soxr removes it). So the graph low-pass filters
first, with soxr HQ's own figures: a Kaiser-windowed sinc whose passband ends at 0.913 and whose
stopband starts at 1.0 of the lower of the two Nyquist rates, 120 dB down. Upsampling gets the
same filter at the input rate (soxr HQ also cuts the top of the input band).

Edges: ``fn.filter`` ("same" mode) keeps only the input's extent and ``fn.audio_resample``
zero-extends, so the filter's tails past either end would be lost where soxr keeps them. The
graph therefore pads the wave with zeros first - ``pad`` samples before (a multiple of
``in / gcd(in, out)`` so the output grid stays on the input's) and enough after - and crops the
resampled result back to DALI's length rule ``ceil(T * out / in)`` (:func:`.resampled_length`).
Measured with this (tones, chirps to 0.4 x rate, white noise; 8-48 kHz; tests/ops/audio), DALI
vs ``soxr.resample(quality="HQ")`` differ by at most 0.037 (resample) and 0.045 (speed_perturb)
on waves in [-1, 1], edges included; without filter and padding, by up to 0.8. What is left is
DALI's interpolator near the top of the band (largest when upsampling white noise): its quality
100 (64 lobes) would cut that ~5x at ~3x the time, measured.

Output sample ``k`` sits at input position ``k * in / out`` in both DALI and soxr (measured:
interior differences ~1e-4 on band-limited tones).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from ..base import Args
from ._wave import on_device
from .base import resampled_length

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

#: soxr HQ's band edges (fractions of the lower Nyquist rate) and stopband attenuation.
PASSBAND = 0.913
STOPBAND = 1.0
ATTENUATION_DB = 120.0
#: ``fn.audio_resample``'s lobes at its default quality 50 (DALI: round(0.007 q^2 - 0.09 q + 3)):
#: how far its interpolation reaches past an output position, in input samples.
DALI_LOBES = 16
#: The args every resampling op hands its DALI graph (see :func:`resample_args`).
RESAMPLE_ARGS = ("kernel", "pad_start", "pad_shape", "crop_start", "crop_shape")


@lru_cache(maxsize=256)
def _kernel(num: int, den: int) -> np.ndarray:
    if num == den:
        return np.ones(1, dtype=np.float32)
    band = min(num / den, 1.0)  # the lower Nyquist, as a fraction of the input's
    cutoff = band * (PASSBAND + STOPBAND) / 2
    width = (STOPBAND - PASSBAND) * math.pi * band  # transition width, rad/sample
    # Kaiser's design rule for the length and window shape at the wanted attenuation.
    taps = math.ceil((ATTENUATION_DB - 8.0) / (2.285 * width))
    half = taps // 2 + 1
    beta = 0.1102 * (ATTENUATION_DB - 8.7)
    k = np.arange(-half, half + 1, dtype=np.float64)
    h = cutoff * np.sinc(cutoff * k) * np.kaiser(2 * half + 1, beta)
    out = (h / h.sum()).astype(np.float32)
    out.flags.writeable = False  # cached: shared by every sample
    return out


def antialias_kernel(in_rate: int, out_rate: int) -> np.ndarray:
    """The odd-length, symmetric low-pass FIR applied before ``fn.audio_resample`` (``[1.0]``
    when the rates are equal: DALI then copies the samples exactly)."""
    g = math.gcd(in_rate, out_rate)
    return _kernel(out_rate // g, in_rate // g)


def resample_window(in_rate: int, out_rate: int) -> tuple[int, int, int]:
    """(zeros before, zeros before + after, crop start) of the padded graph: the same for every
    length of wave. The output is then ``[crop start, + ceil(T * out / in))`` of the padded
    wave's resampled samples."""
    if in_rate == out_rate:
        return 0, 0, 0
    half = len(antialias_kernel(in_rate, out_rate)) // 2
    step = in_rate // math.gcd(in_rate, out_rate)  # pad * out / in is then an integer
    reach = half + DALI_LOBES + 1
    pad = step * math.ceil(reach / step)
    after = reach + math.ceil(in_rate / out_rate)
    return pad, pad + after, pad * out_rate // in_rate


def resample_args(samples: int, in_rate: int, out_rate: int) -> Args:
    """Per-sample arrays for :func:`build_resample` when the rates vary per sample
    (speed_perturb): the kernel and the windows for a wave of ``samples``."""
    pad, extra, start = resample_window(in_rate, out_rate)
    return {
        "kernel": antialias_kernel(in_rate, out_rate),
        "pad_start": np.array([-pad], dtype=np.int32),
        "pad_shape": np.array([samples + extra], dtype=np.int32),
        "crop_start": np.array([start], dtype=np.int32),
        "crop_shape": np.array([resampled_length(samples, in_rate, out_rate)], dtype=np.int32),
    }


def static_resample_args(wave: Any, in_rate: int, out_rate: int) -> dict[str, Any]:
    """:func:`resample_args` as graph values for rates known when the graph is built
    (resample): the lengths come from the wave's run-time shape, so nothing is fed per sample."""
    import nvidia.dali.fn as fn
    import nvidia.dali.types as types

    pad, extra, start = resample_window(in_rate, out_rate)
    samples = wave.shape()[0:1]  # int64: T * out_rate may pass int32
    g = math.gcd(in_rate, out_rate)
    num, den = out_rate // g, in_rate // g
    length = (samples * num + (den - 1)) // den  # ceil(T * out / in), exact in integers
    return {
        "kernel": antialias_kernel(in_rate, out_rate),
        "pad_start": [-pad],
        "pad_shape": fn.cast(samples + extra, dtype=types.INT32),
        "crop_start": [start],
        "crop_shape": fn.cast(length, dtype=types.INT32),
    }


def build_resample(
    wave: Any, args: Mapping[str, Any], in_rate: Any, out_rate: Any, channels: int, device: str
) -> Any:
    """Pad, low-pass, resample and crop a ``(T,)``/``(T, C)`` wave; ``args`` as
    :func:`resample_args` gives them (per-sample inputs) or :func:`static_resample_args`;
    ``in_rate``/``out_rate`` are numbers or per-sample argument inputs."""
    import nvidia.dali.fn as fn

    x = fn.slice(
        wave,
        start=args["pad_start"],
        shape=args["pad_shape"],
        axes=[0],
        out_of_bounds_policy="pad",
        fill_values=0.0,
        device=device,
    )
    # fn.filter filters images: the wave becomes a 1-row HWC image and the kernel a 1-row filter.
    kernel = args["kernel"]
    if isinstance(kernel, np.ndarray):  # a constant of the graph
        kernel = kernel.reshape(1, -1)
    else:  # a per-sample input
        kernel = on_device(fn.reshape(kernel, shape=[1, -1]), device)
    x = fn.reshape(x, shape=[1, -1, channels], layout="HWC", device=device)
    x = fn.filter(x, kernel, border="constant", device=device)
    x = fn.reshape(x, shape=[-1] if channels == 1 else [-1, channels], layout="", device=device)
    x = fn.audio_resample(x, in_rate=in_rate, out_rate=out_rate, device=device)
    return fn.slice(x, start=args["crop_start"], shape=args["crop_shape"], axes=[0], device=device)


def soxr_resample(x: torch.Tensor, in_rate: int, out_rate: int) -> torch.Tensor:
    """The reference: ``soxr.resample(quality="HQ")`` of a (C, T) wave, zero-padded at the end
    so it reaches DALI's ``ceil`` length (soxr itself stops at round(T * out / in)), cut there."""
    import soxr
    import torch

    samples = int(x.shape[-1])
    length = resampled_length(samples, in_rate, out_rate)
    if in_rate == out_rate:
        return x.clone()
    tail = math.ceil(in_rate / out_rate) + 1
    wave = np.pad(x.numpy().T.astype(np.float32), ((0, tail), (0, 0)))
    out = soxr.resample(wave, in_rate, out_rate, quality="HQ")[:length]
    return torch.from_numpy(np.ascontiguousarray(out.T, dtype=np.float32))
