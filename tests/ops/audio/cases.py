"""AUDIO_CASES: the audio test table, several cases per registered audio op (a registered
audio op without one fails). Each case is a short chain whose input is a wave and whose last op
is the op under test (earlier ops set up its input, e.g. a spectrogram before a mel filter)."""

from __future__ import annotations

from .cases_features import FEATURE_CASES
from .cases_wave import WAVE_CASES
from .harness import AudioCase

AUDIO_CASES: dict[str, list[AudioCase]] = {**WAVE_CASES, **FEATURE_CASES}
