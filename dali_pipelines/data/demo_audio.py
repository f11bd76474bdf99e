"""Demo audio: class folders of synthesized sounds, made offline and byte-identical per seed.

Audio pipelines need files that look like a real corpus to a loader: several sample rates
(resampling costs differ), durations spread over an order of magnitude (padding and length
bucketing matter), mono and stereo, and the three containers DALI decodes (WAV as 16-bit and
float, FLAC, OGG/Vorbis). Nothing can be downloaded, so the sounds are synthesized from numpy
alone: pure tones with harmonics and vibrato, exponential chirps, band-limited noise bursts, and
formant-like vowels (a jittered glottal pulse train through three resonators). The sounds are
easy to tell apart, so a tiny model can learn the classes.

Layout (``root`` as made by :func:`make_demo_audio`)::

    root/clips/<class>/NNNNN.{wav,flac,ogg}   AudioFolder(root / "clips")
    root/long/recording/long.wav               optional: one long 16 kHz recording (chunking)
    root/.demo-manifest.json

Every clip is a pure function of ``(seed, index)``, and so are its bytes, with two repairs of
what libsndfile writes: it gives each OGG stream a random serial number (:func:`fix_ogg_serial`
replaces it, and the page checksums, with one derived from the index) and stamps float WAVs with
the wall-clock time (those are written by :func:`~.audio_window.encode_wav` instead).
"""

from __future__ import annotations

import binascii
import io
import itertools
import json
import os
import struct
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .audio_window import encode_wav

#: Bump when the generator's output changes.
GENERATOR_VERSION = 1
MANIFEST_NAME = ".demo-manifest.json"
CLIPS_DIR, LONG_DIR = "clips", "long"
CLASSES = ("chirp", "noise_burst", "tone", "vowel")
RATES = (8000, 16000, 22050, 44100, 48000)
MIN_SECONDS, MAX_SECONDS = 0.5, 8.0
STEREO_SHARE = 0.25
#: (extension, libsndfile subtype, share of the clips).
FORMATS = (
    ("wav", "PCM_16", 0.5),
    ("wav", "FLOAT", 0.2),
    ("flac", "PCM_16", 0.2),
    ("ogg", "VORBIS", 0.1),
)
LONG_RATE = 16000
#: (F1, F2, F3) in Hz of five vowels (Peterson & Barney's averages, rounded).
VOWELS = (
    (730, 1090, 2440),
    (530, 1840, 2480),
    (270, 2290, 3010),
    (570, 840, 2410),
    (300, 870, 2240),
)

Synth = Callable[[np.random.Generator, int, int], np.ndarray]


def _rng(seed: int, index: int, stream: int = 0) -> np.random.Generator:
    # One independent stream per clip: the output does not depend on thread scheduling.
    return np.random.default_rng(np.random.SeedSequence([seed, index, stream, GENERATOR_VERSION]))


def _loguniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _phase(frequency: np.ndarray, rate: int) -> np.ndarray:
    return 2 * np.pi * np.cumsum(frequency) / rate


def tone(rng: np.random.Generator, rate: int, frames: int) -> np.ndarray:
    """A note: up to 6 harmonics of a fundamental with 5 Hz vibrato."""
    t = np.arange(frames) / rate
    f0 = _loguniform(rng, 110, min(2000, rate / 8))
    vibrato = 1 + float(rng.uniform(0, 0.01)) * np.sin(2 * np.pi * float(rng.uniform(4, 6)) * t)
    phase = _phase(f0 * vibrato, rate)
    tilt = float(rng.uniform(1, 2))
    out = np.zeros(frames)
    for k in range(1, 7):
        if k * f0 * 1.02 < 0.45 * rate:
            out += np.sin(k * phase + float(rng.uniform(0, 2 * np.pi))) / k**tilt
    return out


def chirp(rng: np.random.Generator, rate: int, frames: int) -> np.ndarray:
    """An exponential sweep between two frequencies below 0.45 of the rate, up or down."""
    f0, f1 = _loguniform(rng, 80, 0.45 * rate), _loguniform(rng, 80, 0.45 * rate)
    frequency = f0 * (f1 / f0) ** (np.arange(frames) / frames)
    return np.sin(_phase(frequency, rate))


def _band(rng: np.random.Generator, rate: int, frames: int) -> np.ndarray:
    """White noise through a band around a random centre (shaped in the frequency domain)."""
    spectrum = np.fft.rfft(rng.standard_normal(frames))
    freqs = np.fft.rfftfreq(frames, 1 / rate)
    centre = _loguniform(rng, 200, 0.35 * rate)
    width = centre * float(rng.uniform(0.3, 1.5))
    return np.fft.irfft(spectrum * np.exp(-(((freqs - centre) / width) ** 2)), frames)


def noise_burst(rng: np.random.Generator, rate: int, frames: int) -> np.ndarray:
    """1-5 bursts of band-limited noise, each with a sharp attack and an exponential decay."""
    t = np.arange(frames) / rate
    envelope = np.full(frames, 1e-3)
    for _ in range(int(rng.integers(1, 6))):
        onset = float(rng.uniform(0, t[-1] * 0.9))
        decay = _loguniform(rng, 0.02, 0.4)
        after = t >= onset
        envelope[after] += float(rng.uniform(0.3, 1)) * np.exp(-(t[after] - onset) / decay)
    return _band(rng, rate, frames) * envelope


def _resonators(formants: tuple[float, ...], bandwidths: np.ndarray, rate: int, size: int) -> Any:
    """The frequency response of two-pole resonators in series, at ``rfft`` bins of ``size``."""
    z = np.exp(-1j * 2 * np.pi * np.fft.rfftfreq(size))  # e^{-jw} per bin
    response = np.ones_like(z)
    for frequency, bandwidth in zip(formants, bandwidths):
        radius = np.exp(-np.pi * bandwidth / rate)
        theta = 2 * np.pi * frequency / rate
        response = response / (1 - 2 * radius * np.cos(theta) * z + radius**2 * z**2)
    return response


def vowel(rng: np.random.Generator, rate: int, frames: int) -> np.ndarray:
    """A sung vowel: a jittered glottal pulse train (about -12 dB/octave) through three formant
    resonators, with a slow syllable-like loudness contour."""
    f0 = _loguniform(rng, 90, 260)
    periods = rate / f0 * (1 + 0.01 * rng.standard_normal(int(frames * f0 / rate) + 2))
    pulses = np.zeros(frames)
    positions = np.cumsum(periods).astype(np.int64)
    pulses[positions[positions < frames]] = 1.0
    formants = tuple(f for f in VOWELS[int(rng.integers(len(VOWELS)))] if f < 0.45 * rate)
    bandwidths = rng.uniform(60, 120, size=len(formants))
    size = frames + rate // 10  # 100 ms of tail so the resonators' ring does not wrap around
    freqs = np.fft.rfftfreq(size, 1 / rate)
    glottal = 1 / (1 + (freqs / (2 * f0)) ** 2)
    spectrum = np.fft.rfft(pulses, size) * glottal * _resonators(formants, bandwidths, rate, size)
    wave = np.fft.irfft(spectrum, size)[:frames]
    t = np.arange(frames) / rate
    contour = 0.6 + 0.4 * np.sin(2 * np.pi * float(rng.uniform(2, 5)) * t)
    return wave * contour


SYNTHS: dict[str, Synth] = {
    "chirp": chirp,
    "noise_burst": noise_burst,
    "tone": tone,
    "vowel": vowel,
}


def _shape(wave: np.ndarray, rng: np.random.Generator, rate: int, channels: int) -> np.ndarray:
    """10 ms fades, a peak of 0.25-0.7, and (stereo) a delayed, quieter second channel.

    The headroom is for lossy coding: a chirp peaking at 0.9 decoded from Vorbis at 1.008.
    """
    fade = min(len(wave) // 2, rate // 100)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, fade))
    wave[:fade] *= ramp
    wave[len(wave) - fade :] *= ramp[::-1]
    wave *= float(rng.uniform(0.25, 0.7)) / max(float(np.abs(wave).max()), 1e-9)
    if channels == 1:
        return wave[:, None]
    delay = int(rng.integers(1, rate // 1000 + 2))
    other = np.concatenate([np.zeros(delay), wave[:-delay]]) * float(rng.uniform(0.5, 1.0))
    return np.stack([wave, other], axis=1)


def _ogg_crc(data: bytes) -> int:
    """Ogg's page checksum (CRC-32, polynomial 0x04C11DB7, not reflected, no final xor), from
    zlib's reflected CRC-32 on bit-reversed bytes."""
    raw = ~binascii.crc32(data.translate(_REVERSED), 0xFFFFFFFF) & 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


_REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def fix_ogg_serial(data: bytes, serial: int) -> bytes:
    """``data`` (an Ogg stream) with every page's serial number set to ``serial`` and its checksum
    recomputed: libsndfile picks a random serial per stream, which is all that differs."""
    out = bytearray(data)
    position = 0
    while position + 27 <= len(out) and out[position : position + 4] == b"OggS":
        segments = out[position + 26]
        end = position + 27 + segments + sum(out[position + 27 : position + 27 + segments])
        struct.pack_into("<I", out, position + 14, serial)
        struct.pack_into("<I", out, position + 22, 0)  # the checksum covers the page with 0 here
        struct.pack_into("<I", out, position + 22, _ogg_crc(bytes(out[position:end])))
        position = end
    return bytes(out)


def _encode(samples: np.ndarray, rate: int, ext: str, subtype: str, serial: int) -> bytes:
    import soundfile

    clipped = np.clip(samples, -1, 1)
    if subtype == "FLOAT":  # libsndfile stamps float WAVs with the time (a PEAK chunk)
        return encode_wav(clipped.astype(np.float32), rate).tobytes()
    buffer = io.BytesIO()
    fmt = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG"}[ext]
    soundfile.write(buffer, clipped, rate, format=fmt, subtype=subtype)
    data = buffer.getvalue()
    return fix_ogg_serial(data, serial) if ext == "ogg" else data


def render_demo_clip(seed: int, index: int) -> tuple[str, str, bytes]:
    """(class, extension, encoded bytes) of clip ``index`` for ``seed`` (deterministic)."""
    rng = _rng(seed, index)
    label = CLASSES[index % len(CLASSES)]
    rate = RATES[int(rng.integers(len(RATES)))]
    frames = round(_loguniform(rng, MIN_SECONDS, MAX_SECONDS) * rate)
    channels = 2 if rng.random() < STEREO_SHARE else 1
    choice = int(rng.choice(len(FORMATS), p=[share for _, _, share in FORMATS]))
    ext, subtype, _ = FORMATS[choice]
    samples = _shape(SYNTHS[label](rng, rate, frames), rng, rate, channels)
    return label, ext, _encode(samples, rate, ext, subtype, serial=index + 1)


def write_long_recording(path: Path, seconds: float, seed: int) -> int:
    """A ``seconds``-long 16 kHz mono PCM_16 WAV of back-to-back sounds of every class, written
    a sound at a time (memory: one sound, never the recording). Returns its size in bytes."""
    import soundfile

    total = round(seconds * LONG_RATE)
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with soundfile.SoundFile(path, "w", LONG_RATE, 1, subtype="PCM_16", format="WAV") as out:
        for part in itertools.count():
            if written >= total:
                break
            rng = _rng(seed, part, stream=1)
            frames = round(_loguniform(rng, MIN_SECONDS, MAX_SECONDS) * LONG_RATE)
            label = CLASSES[int(rng.integers(len(CLASSES)))]
            sound = _shape(SYNTHS[label](rng, LONG_RATE, frames), rng, LONG_RATE, 1)
            gap = np.zeros((int(rng.integers(0, LONG_RATE // 2)), 1))
            chunk = np.concatenate([sound, gap])[: total - written]
            out.write(chunk)
            written += len(chunk)
    return path.stat().st_size


def _check_args(n: int, seed: int, long_seconds: float | None) -> None:
    if type(n) is not int or n < len(CLASSES):  # fewer would leave a class folder empty
        raise ValueError(
            f"demo audio n: expected an int >= {len(CLASSES)} (one clip a class), got {n!r}"
        )
    if type(seed) is not int or seed < 0:
        raise ValueError(f"demo audio seed: expected an int >= 0, got {seed!r}")
    if long_seconds is not None and not (
        isinstance(long_seconds, (int, float)) and long_seconds > 0
    ):
        raise ValueError(
            f"demo audio long_seconds: expected None or seconds > 0, got {long_seconds!r}"
        )


def make_demo_audio(
    root: str | os.PathLike[str],
    n: int = 200,
    seed: int = 0,
    long_seconds: float | None = None,
    workers: int | None = None,
    on_file: Callable[[], None] | None = None,
) -> Path:
    """Write ``n`` clips as ``root/clips/<class>/NNNNN.<ext>`` (clip ``i`` in class
    ``CLASSES[i % 4]``) and, with ``long_seconds``, ``root/long/recording/long.wav``.

    ``workers`` threads synthesize in parallel (the bytes do not depend on it); ``on_file`` is
    called (in this thread) after each clip. Writes ``.demo-manifest.json`` last.
    """
    _check_args(n, seed, long_seconds)
    out = Path(root)
    for label in CLASSES:
        (out / CLIPS_DIR / label).mkdir(parents=True, exist_ok=True)

    def write(index: int) -> int:
        label, ext, data = render_demo_clip(seed, index)
        (out / CLIPS_DIR / label / f"{index:05d}.{ext}").write_bytes(data)
        return len(data)

    total_bytes = 0
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        for size in pool.map(write, range(n)):
            total_bytes += size
            if on_file is not None:
                on_file()
    if long_seconds is not None:
        total_bytes += write_long_recording(
            out / LONG_DIR / "recording" / "long.wav", long_seconds, seed
        )
    manifest = _manifest(n, seed, long_seconds) | {"total_bytes": total_bytes}
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out


def _manifest(n: int, seed: int, long_seconds: float | None) -> dict[str, Any]:
    return {
        "generator_version": GENERATOR_VERSION,
        "modality": "audio",
        "n": n,
        "classes": len(CLASSES),
        "seed": seed,
        "long_seconds": long_seconds,
    }


__all__ = [
    "CLASSES",
    "CLIPS_DIR",
    "LONG_DIR",
    "fix_ogg_serial",
    "make_demo_audio",
    "render_demo_clip",
    "write_long_recording",
]
