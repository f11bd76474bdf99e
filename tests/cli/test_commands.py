"""demo-data and bench through ``main``: files written, options honoured (bench runs and its
report schema: test_bench.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dali_pipelines.cli.main import main
from dali_pipelines.data.demo import MANIFEST_NAME

pytest.importorskip("skimage")


def test_demo_data_writes_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo-data", str(out), "--n", "6", "--classes", "2", "--seed", "3"]) == 0
    assert len(list(out.rglob("*.jpg"))) == 6
    assert "wrote 6 JPEGs in 2 classes" in capsys.readouterr().out
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["seed"] == 3


def test_demo_data_protects_existing_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("x", encoding="utf-8")
    assert main(["demo-data", str(precious), "--n", "2", "--classes", "1", "--force"]) == 1
    assert (precious / "keep.txt").exists()  # --force never deletes a folder we did not write
    out = tmp_path / "demo"
    assert main(["demo-data", str(out), "--n", "2", "--classes", "1"]) == 0
    assert main(["demo-data", str(out), "--n", "3", "--classes", "1"]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["demo-data", str(out), "--n", "3", "--classes", "1", "--force"]) == 0
    assert len(list(out.rglob("*.jpg"))) == 3


def test_more_classes_than_images_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["demo-data", str(tmp_path / "d"), "--n", "2", "--classes", "3"]) == 2
    assert main(["bench", "--n", "2", "--classes", "3", "--cache-dir", str(tmp_path)]) == 2


def test_bench_missing_data_folder_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--data", str(tmp_path / "missing")]) == 2  # usage, before any bar
    err = capsys.readouterr().err
    assert "--data: expected an existing folder" in err and "━" not in err
