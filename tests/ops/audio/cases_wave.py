"""WAVE_CASES: the wave ops' cases (resample, fix_duration, gain, add_noise, time_shift,
speed_perturb), several per op, on tones, chirps, noise and silence, mono and stereo."""

from __future__ import annotations

from .harness import AudioCase

STEREO = {"channels": 2}
EQUAL = {"lengths": (8000, 8000, 8000)}

WAVE_CASES: dict[str, list[AudioCase]] = {
    "gain": [
        AudioCase("default", ({"op": "gain"},)),
        AudioCase("always_cut", ({"op": "gain", "min_db": -30, "max_db": -6, "p": 1.0},)),
        AudioCase("never", ({"op": "gain", "p": 0.0},), **STEREO),
        AudioCase("stereo_boost", ({"op": "gain", "min_db": 0, "max_db": 20, "p": 1.0},), **STEREO),
        AudioCase("pinned_fixed", ({"op": "gain", "min_db": 6, "max_db": 6, "p": 1.0},), **EQUAL),
    ],
}
