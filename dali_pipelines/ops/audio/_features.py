"""Pieces the feature ops share (spectrogram and what follows it): bounded param types, the
features-only check and the (bins, frames) size of a features sample."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..._model import Int
from ..state import AudioState, ChainError

#: The largest FFT, window or hop in samples: 2 ** 16 is 4 s at 16 kHz, far beyond a speech
#: window (25 ms) and far below DALI's int32 sizes.
MAX_FFT = 1 << 16
#: An FFT size in samples (DALI takes any size, not only powers of two).
FFTSize = Annotated[Int, Field(ge=2, le=MAX_FFT)]
#: A window length or hop in samples.
WindowSize = Annotated[Int, Field(ge=1, le=MAX_FFT)]
#: The most filters, coefficients or masks a feature op makes: far beyond real front ends
#: (80 mels, 13-40 MFCCs, 2 masks), small enough that a typo cannot ask for gigabytes.
MAX_BINS = 4096
BinCount = Annotated[Int, Field(ge=1, le=MAX_BINS)]

FEATURE_KINDS: tuple[str, ...] = ("spectrogram", "mel", "decibels", "mfcc")


def require_features(state: AudioState, field: str = "input") -> int:
    """Raise :class:`ChainError` unless ``state`` holds features; return their bins."""
    if state.is_wave or state.bins is None:
        raise ChainError(field, "features (after a spectrogram)", f"a {state.kind}")
    return state.bins
