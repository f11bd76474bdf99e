"""Demo audio: byte-identical per seed (OGG too), the promised variety, a long recording."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from dali_pipelines import AudioFolder
from dali_pipelines.data.audio_headers import BadHeader
from dali_pipelines.data.audio_probe import AudioHeader
from dali_pipelines.data.demo import read_manifest
from dali_pipelines.data.demo_audio import (
    CLASSES,
    CLIPS_DIR,
    LONG_DIR,
    LONG_RATE,
    MAX_SECONDS,
    MIN_SECONDS,
    RATES,
    fix_ogg_serial,
    make_demo_audio,
)

N = 40


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".wav", ".flac", ".ogg")
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_audio(tmp_path_factory.mktemp("demo") / "a", n=N, seed=3, long_seconds=30)


def test_layout_and_manifest(demo: Path) -> None:
    clips = AudioFolder(demo / CLIPS_DIR, header_cache=False)
    assert clips.classes == sorted(CLASSES) and len(clips) == N
    assert (demo / CLIPS_DIR / "tone" / "00002.wav").exists() or any(
        (demo / CLIPS_DIR / "tone").glob("00002.*")
    )  # clip i is in class CLASSES[i % 4]
    manifest = read_manifest(demo)
    assert manifest is not None and manifest["modality"] == "audio"
    assert (manifest["n"], manifest["seed"], manifest["long_seconds"]) == (N, 3, 30)
    total = sum(p.stat().st_size for p in demo.rglob("*.*") if p.suffix != ".json")
    assert manifest["total_bytes"] == total


def test_variety(demo: Path) -> None:
    clips = AudioFolder(demo / CLIPS_DIR, header_cache=False)
    headers = [h for h in clips.headers if isinstance(h, AudioHeader)]
    assert len(headers) == N  # every clip has a good header
    assert {h.format for h in headers} == {"WAV", "FLAC", "OGG"}
    assert {h.channels for h in headers} == {1, 2}
    assert len({h.sample_rate for h in headers}) >= 4 and {h.sample_rate for h in headers} <= set(
        RATES
    )
    subtypes = {soundfile.info(path).subtype for path, _ in clips.samples}
    assert {"PCM_16", "FLOAT"} <= subtypes
    seconds = clips.durations()
    assert seconds.min() >= MIN_SECONDS - 1e-3 and seconds.max() <= MAX_SECONDS + 1e-3
    assert seconds.max() / seconds.min() > 4  # spread over the range, not one length


def test_clips_decode_in_range_and_differ_by_class(demo: Path) -> None:
    clips = AudioFolder(demo / CLIPS_DIR, header_cache=False)
    for index in range(len(clips)):
        wave, _, _ = clips[index]
        peak = float(np.abs(wave).max())
        assert np.isfinite(wave).all() and 0.2 < peak < 0.8, clips.path(
            index
        )  # 0.25-0.7, Vorbis may stray
    # Spectral flatness tells noise from tones: noise bursts are flat, tones are peaky.
    flatness: dict[str, list[float]] = {name: [] for name in CLASSES}
    for index in range(len(clips)):
        wave, _, label = clips[index]
        power = np.abs(np.fft.rfft(wave[0])) ** 2 + 1e-12
        flatness[clips.classes[label]].append(float(np.exp(np.log(power).mean()) / power.mean()))
    assert min(flatness["noise_burst"]) > max(flatness["tone"])


def test_long_recording(demo: Path) -> None:
    long = AudioFolder(demo / LONG_DIR, window_seconds=2.0, header_cache=False)
    header = long.headers[0]
    assert not isinstance(header, BadHeader)
    assert (header.frames, header.sample_rate, header.channels) == (30 * LONG_RATE, LONG_RATE, 1)
    assert len(long) == 15 and soundfile.info(long.samples[0][0]).subtype == "PCM_16"


def test_same_bytes_for_the_same_arguments(demo: Path, tmp_path: Path) -> None:
    again = make_demo_audio(tmp_path / "b", n=N, seed=3, long_seconds=30, workers=1)
    assert digests(again) == digests(demo)  # OGG included: see test_ogg_serial_fixed
    other = make_demo_audio(tmp_path / "c", n=4, seed=4)
    assert not set(digests(other).values()) & set(digests(demo).values())


def test_ogg_serial_fixed() -> None:
    wave = np.random.default_rng(0).uniform(-0.5, 0.5, size=(4000, 1))
    raw = []
    for _ in range(2):
        buffer = io.BytesIO()
        soundfile.write(buffer, wave, 8000, format="OGG", subtype="VORBIS")
        raw.append(buffer.getvalue())
    assert raw[0] != raw[1]  # libsndfile's random stream serial: why the fix exists
    fixed = [fix_ogg_serial(data, 7) for data in raw]
    assert fixed[0] == fixed[1]
    # Still a valid stream (libogg checks every page's CRC) with the same audio.
    decoded = [soundfile.read(io.BytesIO(data))[0] for data in (raw[0], fixed[0])]
    np.testing.assert_array_equal(decoded[0], decoded[1])
    broken = bytearray(fixed[0])
    broken[60] ^= 0xFF  # inside the first page: its CRC no longer matches
    with pytest.raises(soundfile.LibsndfileError):
        soundfile.read(io.BytesIO(bytes(broken)))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"n": 3}, r"demo audio n: expected an int >= 4 \(one clip a class\), got 3"),
        ({"seed": -1}, "demo audio seed: expected an int >= 0, got -1"),
        ({"long_seconds": 0}, "demo audio long_seconds: expected None or seconds > 0, got 0"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, int], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        make_demo_audio(tmp_path / "x", **kwargs)
