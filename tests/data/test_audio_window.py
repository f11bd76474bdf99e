"""read_window and audio_header: only the window's frames, bit-exact, errors naming the file."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from dali_pipelines.data.audio_probe import probe_audio
from dali_pipelines.data.audio_window import OGG_PREROLL, audio_header, read_window
from dali_pipelines.errors import DatasetError, FileRefusedError

RATE = 16000
FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_24"), "ogg": ("OGG", "VORBIS")}


def decode(data: np.ndarray) -> tuple[np.ndarray, int]:
    samples, rate = soundfile.read(io.BytesIO(data.tobytes()), dtype="float32", always_2d=True)
    return samples, rate


@pytest.fixture(scope="module", params=sorted(FORMATS))
def stereo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of stereo noise (noise: any misplaced frame shows) in each format."""
    path = tmp_path_factory.mktemp("window") / f"noise.{request.param}"
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, size=(3 * RATE, 2)).astype(np.float32)
    soundfile.write(
        path, noise, RATE, format=FORMATS[request.param][0], subtype=FORMATS[request.param][1]
    )
    return path


def full(path: Path) -> np.ndarray:
    return soundfile.read(path, dtype="float32", always_2d=True)[0]


def test_windows_equal_slices_of_the_sequential_decode(stereo: Path) -> None:
    reference = full(stereo)
    # Starts near the end too: libsndfile's Vorbis seek alone gets those wrong (OGG_PREROLL).
    starts = [0, 1, 4099, RATE, len(reference) - 3 * OGG_PREROLL // 2, len(reference) - 700]
    for start in starts:
        samples, rate = decode(read_window(stereo, start, 500))
        assert rate == RATE and samples.shape == (500, 2)
        np.testing.assert_array_equal(samples, reference[start : start + 500], err_msg=str(start))


def test_window_past_the_end_is_short_or_padded(stereo: Path) -> None:
    reference = full(stereo)
    start = len(reference) - 100
    short, _ = decode(read_window(stereo, start, 1000))
    np.testing.assert_array_equal(short, reference[start:])
    padded, _ = decode(read_window(stereo, start, 1000, pad_to=1000))
    assert padded.shape == (1000, 2)
    np.testing.assert_array_equal(padded[:100], reference[start:])
    assert not padded[100:].any()


def test_window_is_a_float32_wav_the_probe_reads(stereo: Path) -> None:
    data = read_window(stereo, 10, 321, pad_to=400)
    assert data.dtype == np.uint8 and data.ndim == 1
    header = probe_audio(data)
    assert (header.frames, header.sample_rate, header.channels, header.format) == (
        400,
        RATE,
        2,
        "WAV",
    )
    assert soundfile.info(io.BytesIO(data.tobytes())).subtype == "FLOAT"


def test_audio_header_reads_the_header(stereo: Path) -> None:
    header = audio_header(stereo)
    assert (header.frames, header.sample_rate, header.channels) == (3 * RATE, RATE, 2)
    assert header.format == FORMATS[stereo.suffix[1:]][0]


def write_wav(path: Path, frames: int = 800) -> bytes:
    soundfile.write(path, np.zeros((frames, 1), np.float32), 8000, subtype="PCM_16")
    return path.read_bytes()


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (b"", "empty", "empty file"),
        (b"hello, not audio\n" * 4, "not_audio", "not readable audio"),
        ("truncated", "truncated", "truncated: the data chunk declares 1600 bytes"),
    ],
)
def test_bad_files_are_refused_naming_the_file(
    tmp_path: Path, content: bytes | str, code: str, words: str
) -> None:
    path = tmp_path / "bad.wav"
    if content == "truncated":
        data = write_wav(path)
        path.write_bytes(data[: len(data) - 600])
    else:
        path.write_bytes(content)  # type: ignore[arg-type]
    for call in (lambda: audio_header(path), lambda: read_window(path, 0, 10)):
        with pytest.raises(FileRefusedError) as info:
            call()
        assert info.value.code == code and info.value.path == str(path)
        assert words in str(info.value) and str(path) in str(info.value)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(FileRefusedError, match="not a regular file: FIFO") as info:
        read_window(fifo, 0, 10)
    assert info.value.code == "not_regular_file"


def test_start_past_the_end_and_max_bytes(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    write_wav(path, frames=800)
    with pytest.raises(
        FileRefusedError, match=r"start: expected a frame below the file's 800, got 800"
    ):
        read_window(path, 800, 10)
    with pytest.raises(FileRefusedError, match="window larger than max_bytes=1000") as info:
        read_window(path, 0, 400, max_bytes=1000)
    assert info.value.code == "too_many_bytes"
    assert len(read_window(path, 0, 400, max_bytes=2000)) <= 2000


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"start": -1, "frames": 10}, "read_window.start: expected an int >= 0, got -1"),
        ({"start": 0, "frames": 0}, "read_window.frames: expected an int >= 1, got 0"),
        (
            {"start": 0, "frames": 10, "pad_to": 5},
            "read_window.pad_to: expected None or an int >= 10",
        ),
        ({"start": 0, "frames": 10, "max_bytes": 0}, "read_window.max_bytes: expected None or"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, int], words: str) -> None:
    path = tmp_path / "a.wav"
    write_wav(path)
    with pytest.raises(DatasetError, match=words.replace("(", r"\(")):
        read_window(path, **kwargs)
