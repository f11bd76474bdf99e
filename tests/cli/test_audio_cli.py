"""The audio side of the command line: ``demo-data --modality audio`` and ``validate`` on audio."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dali_pipelines import AudioFolder
from dali_pipelines.cli.main import main
from dali_pipelines.data.demo import MANIFEST_NAME


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
