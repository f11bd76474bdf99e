"""demo-data and bench through ``main``: files written, report schema, options honoured."""

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
    assert main(["bench", "--data", str(tmp_path / "missing")]) == 1
    assert "error:" in capsys.readouterr().err


@pytest.mark.integration
def test_bench_end_to_end_on_demo_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report_path = tmp_path / "out" / "bench.json"
    argv = ["bench", "--n", "32", "--classes", "2", "--cache-dir", str(tmp_path / "cache"),
            "--batch-size", "8", "--threads", "1", "--reps", "1", "--warmup", "0",
            "--device", "cpu", "--json", str(report_path)]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "speedup" in captured.out and "made demo data" in captured.err
    data = json.loads(report_path.read_text(encoding="utf-8"))
    assert data["schema_version"] == 1
    assert data["spec_name"] == "imagenet_train"
    assert data["config"]["batch_size"] == 8 and data["config"]["reps"] == 1
    for role, backend in (("dali", "dali"), ("baseline", "reference")):
        result = data[role]
        assert result["backend"] == backend and result["workers"] == 1
        assert result["images_per_epoch"] == 32 and result["batches_per_epoch"] == 4
        assert result["images_per_s"] > 0 and len(result["images_per_s_reps"]) == 1
    assert data["speedup"] == pytest.approx(
        data["dali"]["images_per_s"] / data["baseline"]["images_per_s"]
    )
    assert data["env"]["dataset"]["images"] == 32
    assert 300 <= data["env"]["dataset"]["mean_width"] <= 700
    # A second run reuses the cached demo data.
    assert main(argv) == 0
    assert "reusing demo data" in capsys.readouterr().err
