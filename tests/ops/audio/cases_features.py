"""FEATURE_CASES: the feature ops' cases (spectrogram, mel_filter_bank, to_decibels, mfcc,
utterance_norm, time_mask, freq_mask), several per op, each a chain from a mono wave: e.g.
spectrogram -> mel_filter_bank -> to_decibels -> mfcc. Lengths vary per sample unless a case
says otherwise; short waves exercise the padding and the frame rule's edges."""

from __future__ import annotations

from typing import Any

from .harness import AudioCase

SPEC: dict[str, Any] = {"op": "spectrogram"}
MEL: dict[str, Any] = {"op": "mel_filter_bank"}
DB: dict[str, Any] = {"op": "to_decibels"}
LOG_MEL = (SPEC, MEL, DB)
NORMED = (*LOG_MEL, {"op": "utterance_norm"})
#: Shorter than the padding (reflected again and again), one sample, a few windows.
SHORT = {"lengths": (100, 7, 1, 2000)}
EQUAL = {"lengths": (8000, 8000, 8000)}

FEATURE_CASES: dict[str, list[AudioCase]] = {
    "spectrogram": [
        AudioCase("default", (SPEC,)),
        AudioCase(
            "magnitude_hamming",
            (
                {
                    "op": "spectrogram",
                    "n_fft": 400,
                    "win_length": 400,
                    "hop_length": 100,
                    "window": "hamming",
                    "power": 1,
                },
            ),
        ),
        # Without centring: 300 samples is one zero-padded window (DALI's frame rule).
        AudioCase(
            "no_center",
            ({"op": "spectrogram", "center": False},),
            lengths=(16000, 1234, 300),
        ),
        AudioCase("reflect_short", (SPEC,), **SHORT),
        AudioCase("constant_short", ({"op": "spectrogram", "pad_mode": "constant"},), **SHORT),
        # An odd window in a larger FFT: where the half window and torch's offset differ.
        AudioCase(
            "odd_window",
            ({"op": "spectrogram", "n_fft": 512, "win_length": 401, "hop_length": 128},),
            **EQUAL,
        ),
        AudioCase("silence", (SPEC,), signal="silence"),
    ],
    "mel_filter_bank": [
        AudioCase("default", (SPEC, MEL)),
        AudioCase(
            "htk_unnormalized",
            (
                SPEC,
                {
                    "op": "mel_filter_bank",
                    "n_mels": 40,
                    "fmin": 20,
                    "fmax": 7600,
                    "norm": None,
                    "mel_scale": "htk",
                },
            ),
        ),
        AudioCase(
            "magnitude_64",
            ({"op": "spectrogram", "power": 1}, {"op": "mel_filter_bank", "n_mels": 64}),
        ),
        AudioCase(
            "rate_8k",
            (
                {"op": "spectrogram", "n_fft": 256, "win_length": 200, "hop_length": 80},
                {"op": "mel_filter_bank", "n_mels": 40},
            ),
            lengths=(8000, 5003, 1000),
            rate=8000,
        ),
    ],
    "to_decibels": [
        AudioCase("log_mel", LOG_MEL),
        # A magnitude spectrogram: the multiplier follows its power (20).
        AudioCase("magnitude", ({"op": "spectrogram", "power": 1}, DB)),
        AudioCase(
            "fixed_reference",
            (
                SPEC,
                MEL,
                {"op": "to_decibels", "reference": 1.0, "cutoff_db": -100, "multiplier": 10},
            ),
        ),
        # Every value 0: with reference max, every output is cutoff_db.
        AudioCase("silence", LOG_MEL, signal="silence"),
    ],
    "mfcc": [
        AudioCase("default", (*LOG_MEL, {"op": "mfcc"})),
        AudioCase(
            "lifter_all",
            (
                SPEC,
                {"op": "mel_filter_bank", "n_mels": 40},
                DB,
                {"op": "mfcc", "n_mfcc": 40, "lifter": 22},
            ),
        ),
        AudioCase("unnormalized", (*LOG_MEL, {"op": "mfcc", "n_mfcc": 20, "norm": None})),
    ],
    "utterance_norm": [
        AudioCase("log_mel", NORMED),
        AudioCase(
            "mfcc_no_epsilon", (*LOG_MEL, {"op": "mfcc"}, {"op": "utterance_norm", "epsilon": 0})
        ),
        # Constant bins (-80 dB everywhere): variance 0, output 0.
        AudioCase(
            "silence_no_epsilon",
            (*LOG_MEL, {"op": "utterance_norm", "epsilon": 0}),
            signal="silence",
        ),
        AudioCase("short", NORMED, **SHORT),
    ],
    "time_mask": [
        AudioCase("default", (*NORMED, {"op": "time_mask"})),
        AudioCase(
            "fraction_coin",
            (*NORMED, {"op": "time_mask", "num_masks": 5, "max_fraction": 0.05, "p": 0.5}),
            seed=3,
        ),
        # Masks as wide as the sample (or wider, on the short ones): clipped, never past it.
        AudioCase("whole", (*LOG_MEL, {"op": "time_mask", "max_width": 1000}), **SHORT),
        AudioCase("never", (*NORMED, {"op": "time_mask", "p": 0.0})),
    ],
    "freq_mask": [
        AudioCase("default", (*NORMED, {"op": "freq_mask"})),
        AudioCase("wider_than_bins", (*NORMED, {"op": "freq_mask", "max_width": 200}), seed=5),
        AudioCase(
            "mfcc_coin",
            (
                *LOG_MEL,
                {"op": "mfcc"},
                {"op": "freq_mask", "num_masks": 3, "max_width": 4, "p": 0.5},
            ),
        ),
        AudioCase("never", (*NORMED, {"op": "freq_mask", "p": 0.0})),
    ],
}
