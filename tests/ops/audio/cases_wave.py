"""WAVE_CASES: the wave ops' cases (resample, fix_duration, gain, add_noise, time_shift,
speed_perturb), several per op, on tones, chirps, noise and silence, mono and stereo, equal and
mixed lengths, at several rates."""

from __future__ import annotations

from .harness import AudioCase

STEREO = {"channels": 2}
EQUAL = {"lengths": (8000, 8000, 8000)}
# Edge lengths: one sample, fewer samples than any filter, a few hundred.
TINY = {"lengths": (1, 5, 37, 300)}
R44 = {"rate": 44100, "lengths": (44100, 30001, 777)}


def _op(name: str, **params: object) -> tuple[dict[str, object], ...]:
    return ({"op": name, **params},)


WAVE_CASES: dict[str, list[AudioCase]] = {
    "resample": [
        AudioCase("down_16k_8k", _op("resample", rate=8000)),
        AudioCase("up_8k_16k", _op("resample", rate=16000), rate=8000),
        AudioCase("stereo_44k1_16k", _op("resample", rate=16000), **R44, **STEREO),
        AudioCase("down_22k05_16k_noise", _op("resample", rate=16000), rate=22050, signal="noise"),
        AudioCase("up_16k_22k05_equal", _op("resample", rate=22050), **EQUAL),
        AudioCase("down_48k_8k_chirp", _op("resample", rate=8000), rate=48000, signal="chirp"),
        AudioCase("same_rate", _op("resample", rate=16000), **STEREO),
        AudioCase("tiny", _op("resample", rate=11025), **TINY),
    ],
    "fix_duration": [
        AudioCase("random_crop_and_pad", _op("fix_duration", seconds=0.5)),
        AudioCase("center_stereo", _op("fix_duration", seconds=0.5, position="center"), **STEREO),
        AudioCase("start", _op("fix_duration", seconds=0.77, position="start")),
        AudioCase("random_all_pad", _op("fix_duration", seconds=1.5), **STEREO),
        AudioCase("same_length", _op("fix_duration", seconds=0.5, position="center"), **EQUAL),
        AudioCase("tiny", _op("fix_duration", seconds=0.001), **TINY),
        AudioCase(
            "after_resample",
            ({"op": "resample", "rate": 8000}, {"op": "fix_duration", "seconds": 1.0}),
        ),
    ],
    "gain": [
        AudioCase("default", _op("gain")),
        AudioCase("always_cut", _op("gain", min_db=-30, max_db=-6, p=1.0)),
        AudioCase("never", _op("gain", p=0.0), **STEREO),
        AudioCase("stereo_boost", _op("gain", min_db=0, max_db=20, p=1.0), **STEREO),
        AudioCase("pinned_fixed", _op("gain", min_db=6, max_db=6, p=1.0), **EQUAL),
    ],
    "add_noise": [
        AudioCase("default", _op("add_noise")),
        AudioCase("always_low_snr", _op("add_noise", min_snr_db=0, max_snr_db=10, p=1.0)),
        AudioCase("stereo", _op("add_noise", p=1.0), **STEREO),
        AudioCase("silence_gets_none", _op("add_noise", p=1.0), signal="silence"),
        AudioCase("never", _op("add_noise", p=0.0), **EQUAL),
        AudioCase(
            "after_gain",
            ({"op": "gain", "p": 1.0}, {"op": "add_noise", "min_snr_db": 20, "p": 1.0}),
            **STEREO,
        ),
    ],
    "time_shift": [
        AudioCase("default", _op("time_shift", max_seconds=0.2)),
        AudioCase("always_stereo", _op("time_shift", max_seconds=0.5, p=1.0), **STEREO),
        AudioCase("never", _op("time_shift", max_seconds=0.5, p=0.0)),
        AudioCase("beyond_length", _op("time_shift", max_seconds=2.0, p=1.0), **TINY),
        AudioCase(
            "after_fix_duration",
            ({"op": "fix_duration", "seconds": 0.5}, {"op": "time_shift", "max_seconds": 0.1}),
        ),
    ],
    "speed_perturb": [
        AudioCase("default", _op("speed_perturb")),
        AudioCase("single_equal", _op("speed_perturb", factors=(1.1,)), **EQUAL),
        AudioCase("stereo_wide", _op("speed_perturb", factors=(0.8, 0.95, 1.25)), **STEREO),
        AudioCase("identity", _op("speed_perturb", factors=(1.0,)), signal="noise"),
        AudioCase("noise_44k1", _op("speed_perturb", factors=(0.9, 1.1)), **R44, signal="noise"),
        AudioCase("tiny", _op("speed_perturb", factors=(0.5, 2.0)), **TINY),
    ],
}
