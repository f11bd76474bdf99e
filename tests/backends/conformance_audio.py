"""The audio rows of the conformance suite: audio executors and audio source kinds.

Sample ``i`` of every audio source is the same recording (a tone or chirp at one of several
rates, 0.2-0.6 s, some stereo, WAV and FLAC), and each source says which sample a row was:

* AudioFolder: one class folder per sample, the label is the identity;
* Manifest (CSV): a feature column ``idx``;
* WebDataset (3 uneven shards): the ``.cls`` member.

Bad files (a WAV cut mid-data, an empty file, random bytes named .wav) are appended after the
good ones, as for images.
"""

from __future__ import annotations

import csv
import io
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

RATES = (8000, 16000, 22050)

#: A random audio chain: every random parameter drawn per sample by the seed policy.
AUDIO_OPS: list[dict[str, Any]] = [
    {"op": "gain", "min_db": -6.0, "max_db": 6.0},
    {"op": "time_shift", "max_seconds": 0.02},
    {"op": "spectrogram", "n_fft": 256, "win_length": 200, "hop_length": 80},
    {"op": "mel_filter_bank", "n_mels": 24},
    {"op": "to_decibels"},
    {"op": "time_mask", "num_masks": 1, "max_width": 4},
    {"op": "freq_mask", "num_masks": 1, "max_width": 4},
]
AUDIO_SECTION = {"sample_rate": 16000}


def good_audio(count: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        rate = RATES[i % len(RATES)]
        frames = int(rate * rng.uniform(0.2, 0.6))
        t = np.arange(frames) / rate
        f0 = rng.uniform(150, 900)
        wave = 0.4 * np.sin(2 * np.pi * (f0 + 300 * t) * t) * np.hanning(frames)
        samples = np.stack([wave, 0.5 * wave], axis=1) if i % 4 == 1 else wave[:, None]
        buffer = io.BytesIO()
        kind = "FLAC" if i % 5 == 2 else "WAV"
        soundfile.write(buffer, samples.astype(np.float32), rate, format=kind, subtype="PCM_16")
        out.append(buffer.getvalue())
    return out


def bad_audio() -> list[bytes]:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(4000, dtype=np.float32), 16000, format="WAV")
    whole = buffer.getvalue()
    rng = np.random.default_rng(3)
    return [whole[: len(whole) // 2], b"", rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()]


def _name(i: int, data: bytes) -> str:
    return f"{i:03d}.flac" if data[:4] == b"fLaC" else f"{i:03d}.wav"


def _ints(values: Any) -> list[int]:
    return [int(v) for v in values.reshape(-1).tolist()]


def write_audio_folder(root: Path, clips: list[bytes], good: int) -> Any:
    from tests.backends.conformance_data import Source

    for i, data in enumerate(clips):
        folder = root / f"s{i:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _name(i, data)).write_bytes(data)
    from dali_pipelines import AudioFolder

    def identities(batch: Sequence[Any]) -> list[int]:
        return _ints(batch[2])  # (audio, lengths, labels): one class per sample

    bad = frozenset(range(good, len(clips)))
    return Source("audio-folder", lambda: AudioFolder(root), None, identities, len(clips), bad)


def write_audio_manifest(root: Path, clips: list[bytes], good: int) -> Any:
    from tests.backends.conformance_data import Source

    (root / "clips").mkdir(parents=True, exist_ok=True)
    path = root / "manifest.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["audio", "idx", "label"])
        for i, data in enumerate(clips):
            name = f"clips/{_name(i, data)}"
            (root / name).write_bytes(data)
            writer.writerow([name, i, ("yes", "no")[i % 2]])
    section = {
        "outputs": [
            {"kind": "audio", "name": "audio"},
            {"kind": "features", "columns": ["idx"]},
            {"kind": "label"},
        ]
    }
    from dali_pipelines import Manifest

    def identities(batch: Sequence[Any]) -> list[int]:
        return _ints(batch[2][:, 0])  # (audio, audio_lengths, features, labels)

    bad = frozenset(range(good, len(clips)))
    return Source("audio-manifest", lambda: Manifest(path), section, identities, len(clips), bad)


def write_audio_shards(root: Path, clips: list[bytes], good: int) -> Any:
    from tests.backends.conformance_data import Source, add_member

    root.mkdir(parents=True, exist_ok=True)
    n = len(clips)
    bounds = [0, n // 4, n // 4 + n // 3, n]
    paths = []
    for shard in range(3):
        path = root / f"shard-{shard:03d}.tar"
        with tarfile.open(path, "w") as tar:
            for i in range(bounds[shard], bounds[shard + 1]):
                # One extension for every member (the column): FLAC bytes under .wav decode too.
                add_member(tar, f"s{i:05d}.wav", clips[i])
                add_member(tar, f"s{i:05d}.cls", str(i).encode())
        paths.append(str(path))
    section = {
        "outputs": [
            {"kind": "audio", "name": "audio", "column": "wav"},
            {"kind": "label", "column": "cls"},
        ]
    }
    from dali_pipelines import WebDataset

    def identities(batch: Sequence[Any]) -> list[int]:
        return _ints(batch[2])

    bad = frozenset(range(good, n))
    return Source("audio-webdataset", lambda: WebDataset(paths), section, identities, n, bad)
