"""The image state carried through an op chain (ffcv-style) before anything runs.

Every op has a shape rule ``infer(params, state) -> state``. The planner folds the rules over the
spec so an impossible chain is rejected up front, and the contract of a spec's output is the final
state. Layout is not part of the state: inside the graph images are HWC; the output step decides
CHW or HWC.
"""

from __future__ import annotations

from typing import Literal

from .._model import FrozenModel

Dtype = Literal["uint8", "float32", "float16", "bfloat16"]
FLOAT_DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16")


class ChainError(ValueError):
    """Raised by an op's shape rule; the planner adds the op index and name to the message."""

    def __init__(self, field: str, expected: str, got: object):
        super().__init__(f"{field}: expected {expected}, got {got}")
        self.field = field
        self.expected = expected
        self.got = got


class ImageState(FrozenModel):
    """What one image looks like at a point in the chain.

    ``height``/``width`` are ``None`` while they vary per sample (right after decode, or after a
    shorter-side resize). ``value_range`` is the closed interval values may take.
    """

    channels: int = 3
    height: int | None = None
    width: int | None = None
    dtype: Dtype = "uint8"
    value_range: tuple[float, float] = (0.0, 255.0)
    normalized: bool = False

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES

    @property
    def fixed_size(self) -> tuple[int, int] | None:
        if self.height is None or self.width is None:
            return None
        return (self.height, self.width)

    def with_size(self, height: int | None, width: int | None) -> ImageState:
        return self.model_copy(update={"height": height, "width": width})


#: What an audio state holds: samples, or features computed from them (frames over time).
AudioKind = Literal["wave", "spectrogram", "mel", "decibels", "mfcc"]


class FrameRule(FrozenModel):
    """How a features state's frames follow from the wave's samples (a spectrogram's windows).

    DALI's rule, measured on ``fn.spectrogram`` (tests/ops/audio/test_features.py). With
    ``center`` (DALI's ``center_windows``) the signal is padded by half a window on each side:
    ``frames = T // hop + 1``. Without, DALI divides with C's truncation toward zero,
    ``trunc((T - window) / hop) + 1``: a signal shorter than a window by less than a hop still
    gives one window (zero-padded past the end), and a shorter one makes DALI fail ("Signal is
    too short"), counted here as 0 frames.
    """

    window: int
    hop: int
    center: bool = True

    def frames(self, samples: int) -> int:
        if self.center:
            return samples // self.hop + 1
        if samples >= self.window:
            return (samples - self.window) // self.hop + 1
        return 1 if self.window - samples < self.hop else 0


class AudioState(FrozenModel):
    """What one audio sample looks like at a point in an audio chain.

    A ``wave`` is (channels, T) samples at ``sample_rate``; every other kind is (bins, T')
    features of a mono wave, T' frames following the samples by ``frames``. ``length`` is T or
    T' when every sample has it (after a crop/pad to a fixed duration), else ``None``.
    ``value_range`` is ``None`` where values are unbounded (after gain, noise, decibels).
    """

    kind: AudioKind = "wave"
    channels: int = 1
    sample_rate: int = 16000
    length: int | None = None
    bins: int | None = None
    frames: FrameRule | None = None
    #: The exponent of a spectrogram's magnitude (1 magnitude, 2 power) for a spectrogram and
    #: its mel features (what decibels scale by: 20 or 10); ``None`` for other kinds.
    power: Literal[1, 2] | None = None
    dtype: Dtype = "float32"
    value_range: tuple[float, float] | None = (-1.0, 1.0)

    @property
    def is_wave(self) -> bool:
        return self.kind == "wave"

    @property
    def rows(self) -> int:
        """The first dim of a sample: channels of a wave, bins of features."""
        return self.channels if self.is_wave else int(self.bins or 0)

    @property
    def is_float(self) -> bool:
        return True
