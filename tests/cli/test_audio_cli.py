"""The audio side of the command line: ``demo-data --modality audio`` and ``validate`` on audio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from dali_pipelines import AudioFolder
from dali_pipelines.cli.main import main
from dali_pipelines.data.demo import MANIFEST_NAME
from dali_pipelines.data.demo_audio import make_demo_audio


def test_demo_data_audio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    argv = ["demo-data", str(out), "--modality", "audio", "--n", "6", "--long-seconds", "4"]
    assert main(argv) == 0
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "wrote 6 audio clips in 4 classes" in printed and "a 4 s recording" in printed
    assert len(AudioFolder(out / "clips", header_cache=False)) == 6
    assert AudioFolder(out / "long", header_cache=False).durations().tolist() == [4.0]
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert (manifest["modality"], manifest["n"]) == ("audio", 6)
    assert main(argv) == 1  # an existing folder is never overwritten without --force
    assert main([*argv, "--force", "--n", "5"]) == 0
    assert len(AudioFolder(out / "clips", header_cache=False)) == 5


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--modality", "audio", "--classes", "3"], "--classes: expected none with --modality"),
        (["--long-seconds", "5"], "--long-seconds: expected --modality audio"),
        (["--modality", "audio", "--n", "3"], "--n: expected at least 4 clips"),
    ],
)
def test_demo_data_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    assert main(["demo-data", str(tmp_path / "d"), "--n", "4", *argv]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def write_bad_folder(root: Path) -> Path:
    """Two classes: a good file per format, and every kind of bad audio file."""
    wave = np.random.default_rng(0).uniform(-0.5, 0.5, size=(16000, 1))
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    soundfile.write(root / "a" / "good.wav", wave, 16000, subtype="PCM_16")
    soundfile.write(root / "a" / "good.ogg", wave, 16000)
    data = (root / "a" / "good.wav").read_bytes()
    (root / "a" / "truncated.wav").write_bytes(data[: len(data) // 2])
    (root / "a" / "zero.wav").write_bytes(b"")
    (root / "a" / "text.wav").write_text("RIFF? no: just text named .wav\n")
    soundfile.write(root / "b" / "stereo.wav", np.repeat(wave, 2, axis=1), 16000)
    soundfile.write(root / "b" / "low_rate.flac", wave, 8000)
    soundfile.write(root / "b" / "good.flac", wave, 16000)
    flac = (root / "b" / "good.flac").read_bytes()
    (root / "b" / "cut.flac").write_bytes(flac[: len(flac) * 2 // 3])
    return root


def verdicts(path: Path) -> dict[str, str | None]:
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["modality"] == "audio"
    return {Path(f["path"]).name: f["reason"] for f in report["files"]}


def test_validate_bad_audio_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_bad_folder(tmp_path / "audio")
    out = tmp_path / "report.json"
    bounds = ["--channels", "1", "--sample-rate-min", "16000", "--sample-rate-max", "16000"]
    argv = ["validate", str(root), "--no-cache", "--json", str(out)]
    assert main([*argv, *bounds]) == 1
    assert verdicts(out) == {
        "good.ogg": None,
        "good.wav": None,
        "text.wav": "not_audio",
        "truncated.wav": "truncated",
        "zero.wav": "empty",
        "cut.flac": None,  # its header is whole: only decoding finds the cut (--deep)
        "good.flac": None,
        "low_rate.flac": "bad_sample_rate",
        "stereo.wav": "bad_channels",
    }
    assert "9 files: 4 ok, 5 bad (quick" in " ".join(capsys.readouterr().out.split())
    details = {Path(f["path"]).name: f["detail"] for f in json.loads(out.read_text())["files"]}
    assert details["stereo.wav"] == "channels: expected 1, got 2"
    assert details["low_rate.flac"] == "sample rate: expected >= 16000 Hz, got 8000 Hz"
    assert main([*argv, "--deep"]) == 1  # no bounds: rate and channels pass, decoding fails
    deep = verdicts(out)
    assert deep["cut.flac"] == "decode_failed" and deep["stereo.wav"] is None
    assert deep["low_rate.flac"] is None and deep["truncated.wav"] == "truncated"


def test_validate_good_audio_and_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_demo_audio(tmp_path / "demo", n=8) / "clips"
    assert main(["validate", str(root), "--deep", "--max-seconds", "8"]) == 0
    assert "8 files: 8 ok, 0 bad (deep: soundfile" in " ".join(capsys.readouterr().out.split())
    assert main(["validate", str(root), "--deep", "--max-seconds", "8"]) == 0
    assert "8 from the cache" in capsys.readouterr().out
    # Other bounds are other settings: nothing comes from the cache, and files are refused.
    assert main(["validate", str(root), "--deep", "--max-seconds", "0.1"]) == 1
    printed = " ".join(capsys.readouterr().out.split())
    assert "too_long" in printed and "0 from the cache" in printed


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--decoders", "pil"], "--decoders: expected none for audio"),
        (["--sample-rate-min", "9", "--sample-rate-max", "8"], "expected <= --sample-rate-max"),
        (["--modality", "image", "--channels", "1"], "expected audio files, got images"),
    ],
)
def test_validate_audio_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    root = write_bad_folder(tmp_path / "audio")
    (root / "a" / "x.jpg").write_bytes(b"")  # --modality image finds an image folder
    (root / "b" / "y.jpg").write_bytes(b"")
    assert main(["validate", str(root), "--no-cache", *argv]) == 2
    assert words in " ".join(capsys.readouterr().err.split())
