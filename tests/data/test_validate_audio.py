"""validate on audio: the per-file verdicts, bounds from a spec, detection, sources, workers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from dali_pipelines import AudioFolder
from dali_pipelines.data.validate import validate
from dali_pipelines.data.validate_audio import AudioBounds, AudioCheck, detect_modality
from dali_pipelines.spec.models import AudioDecodeSpec

WAVE = np.random.default_rng(0).uniform(-0.5, 0.5, size=(8000, 1))


def check(path: Path, deep: bool = False, **bounds: float) -> tuple[str | None, str]:
    verdict, _ = AudioCheck(AudioBounds(**bounds), deep, 1 << 20)(str(path))  # type: ignore[arg-type]
    return verdict.reason, verdict.detail


def test_good_file_reports_its_header(tmp_path: Path) -> None:
    path = tmp_path / "a.flac"
    soundfile.write(path, np.repeat(WAVE, 2, axis=1), 8000)
    verdict, size = AudioCheck(AudioBounds(), True, None)(str(path))
    assert verdict.ok and size == path.stat().st_size
    assert (verdict.format, verdict.sample_rate, verdict.channels, verdict.seconds) == (
        "FLAC",
        8000,
        2,
        1.0,
    )


def test_non_finite_samples_are_corrupt_when_deep(tmp_path: Path) -> None:
    path = tmp_path / "nan.wav"
    wave = WAVE.astype(np.float32)
    wave[4321] = np.inf
    soundfile.write(path, wave, 8000, subtype="FLOAT")
    assert check(path) == (None, "")
    assert check(path, deep=True) == (
        "corrupt",
        "samples: expected finite values, got NaN or inf at frame 4321",
    )


def test_header_problems(tmp_path: Path) -> None:
    aiff = tmp_path / "aiff.wav"  # libsndfile reads AIFF; DALI's decoder is not asked to
    soundfile.write(aiff, WAVE, 8000, format="AIFF")
    assert check(aiff)[0] == "unsupported_format"
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros((0, 1)), 8000)
    assert check(silent)[0] == "no_frames"
    big = tmp_path / "big.wav"
    soundfile.write(big, np.zeros((1 << 19, 1)), 8000, subtype="PCM_16")
    assert check(big) == (
        "too_many_bytes",
        f"file larger than max_file_bytes=1048576 ({big.stat().st_size} bytes)",
    )
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    assert check(fifo) == ("not_regular_file", "not a regular file: FIFO")
    assert check(tmp_path / "missing.wav")[0] == "unreadable"


def test_bounds_and_from_spec(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    soundfile.write(path, WAVE, 8000)
    assert check(path, max_seconds=0.5) == ("too_long", "duration: expected <= 0.5 s, got 1.000 s")
    assert check(path, max_sample_rate=4000)[1] == "sample rate: expected <= 4000 Hz, got 8000 Hz"
    spec = AudioDecodeSpec(mono=False, channels=2, min_sample_rate=16000, max_seconds=30)
    assert AudioBounds.from_spec(spec) == AudioBounds(16000, None, 2, 30.0)


def test_detect_modality() -> None:
    assert detect_modality(["a.wav", "b.FLAC", "c.jpg"]) == "audio"
    assert detect_modality(["a.wav", "c.jpg", "d.png"]) == "image"
    assert detect_modality(["notes.txt"]) == "image"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for label in ("x", "y"):
        (tmp_path / "data" / label).mkdir(parents=True)
        soundfile.write(tmp_path / "data" / label / "long.wav", np.tile(WAVE, (4, 1)), 8000)
    (tmp_path / "data" / "y" / "bad.ogg").write_bytes(b"OggS but not really")
    return tmp_path / "data"


def test_an_audio_folder_is_checked_file_by_file(folder: Path) -> None:
    windows = AudioFolder(folder, window_seconds=1.0)
    assert len(windows) == 9  # 4 + 4 windows, one for the bad file
    report = validate(windows)
    assert report.modality == "audio" and len(report.files) == 3
    assert [Path(f.path).name for f in report.bad] == ["bad.ogg"]
    assert report.bad[0].reason == "not_audio"


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_folder_path_detected_and_workers(folder: Path, executor: str) -> None:
    report = validate(folder, deep=True, workers=2, executor=executor)  # type: ignore[arg-type]
    assert report.modality == "audio" and report.decoders == ("soundfile",)
    assert [r.reason for r in report.files] == [None, "not_audio", None]  # x/long, y/bad, y/long
    assert report.to_json()["counts"]["reasons"] == {"not_audio": 1}


def test_a_list_of_audio_paths(folder: Path, tmp_path: Path) -> None:
    listing = tmp_path / "files.txt"
    listing.write_text("data/x/long.wav\ndata/y/bad.ogg\n")
    report = validate(listing, audio=AudioBounds(channels=2))
    assert [r.reason for r in report.files] == ["bad_channels", "not_audio"]
    with pytest.raises(ValueError, match="decoders: expected None for audio"):
        validate(listing, deep=True, decoders=["pil"])
