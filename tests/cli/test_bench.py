"""``dali-pipelines bench`` through ``main``: options parsed, usage errors, and real runs of
every loader on tiny data (schema and files, not speed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dali_pipelines.cli.main import build_parser, main

# One rep, no warm-up, batch 8, one thread: each run is DALI + two torch DataLoaders on 21 or
# 32 images, a few seconds in all.
FAST = ["--batch-size", "8", "--threads", "1", "--reps", "1", "--warmup", "0", "--device", "cpu"]


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_new_options_parse() -> None:
    args = build_parser().parse_args(
        ["bench", "--mode", "train", "--model", "resnet18", "--loaders", "dali,reference",
         "--sweep", "threads=1,2", "batch_size=32,64", "--markdown", "r.md", "--plot", "r.png",
         "--fail-under", "1.5"]
    )  # fmt: skip
    assert (args.mode, args.model, args.loaders) == ("train", "resnet18", ["dali", "reference"])
    assert args.sweep == ["threads=1,2", "batch_size=32,64"]
    assert (args.markdown, args.plot, args.fail_under) == (Path("r.md"), Path("r.png"), 1.5)
    defaults = build_parser().parse_args(["bench"])
    assert (defaults.mode, defaults.model, defaults.sweep) == ("loader", "auto", [])
    assert defaults.loaders == ["dali", "reference", "reference-tvio", "torchvision"]
    assert defaults.markdown is None and defaults.plot is None and defaults.fail_under is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fail-under", "0"], "expected a positive number"),
        (["--fail-under", "x"], "expected a positive number"),
        (["--mode", "fit"], "invalid choice"),
        (["--loaders", ","], "comma-separated loader names"),
        (["--sweep", "epochs=1,2"], "PARAM in threads, batch_size"),
        (["--sweep", "threads=1,x"], "expected integers"),
        (["--sweep", "threads=0"], "positive integers"),
        (["--loaders", "dali,tvio"], "'reference'"),
        (["--loaders", "dali,reference,nope"], "bench loaders"),
    ],
)
def test_usage_errors(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --data points at a missing folder: a usage error must be reported before it is read.
    assert main(["bench", "--data", str(tmp_path / "missing"), *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.integration
def test_loader_mode_every_output_and_fail_under(
    jpeg_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["bench", "--data", str(jpeg_folder), *FAST, "--json", str(out / "r.json"),
            "--markdown", str(out / "r.md"), "--plot", str(out / "r.png")]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "speedup DALI / PIL baseline" in captured.out and "reference-tvio" in captured.out
    data = _json(out / "r.json")
    assert data["schema_version"] == 2 and data["config"]["mode"] == "loader"
    assert list(data["loaders"]) == ["dali", "reference", "reference-tvio", "torchvision"]
    assert set(data["speedups"]) == {"reference", "reference-tvio", "torchvision"}
    for name, backend in (("dali", "dali"), ("reference", "reference"),
                          ("reference-tvio", "reference-tvio"),
                          ("torchvision", "torchvision")):  # fmt: skip
        result = data["loaders"][name]
        assert result["backend"] == backend and result["workers"] == 1
        assert result["images_per_epoch"] == 21 and result["batches_per_epoch"] == 3
        assert result["images_per_s"] > 0 and result["wait_ms"]["p50"] > 0
    assert data["baseline"] == data["loaders"]["reference"]
    assert data["speedup"] == pytest.approx(
        data["dali"]["images_per_s"] / data["baseline"]["images_per_s"]
    )
    assert data["command"].startswith("dali-pipelines bench --data ")
    markdown = (out / "r.md").read_text(encoding="utf-8")
    assert "| reference-tvio |" in markdown and data["command"] in markdown
    assert (out / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # --fail-under: an unreachable speedup fails the run (exit 1) after writing the report.
    assert main([*argv[:3], *FAST, "--loaders", "dali,reference", "--fail-under", "1000"]) == 1
    assert "below --fail-under 1000" in capsys.readouterr().err


@pytest.mark.integration
def test_train_mode_with_a_sweep(
    jpeg_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "train.json"
    argv = ["bench", "--data", str(jpeg_folder), *FAST, "--mode", "train", "--loaders",
            "dali,reference", "--sweep", "batch_size=4,8", "--json", str(path)]  # fmt: skip
    assert main(argv) == 0
    assert "of ideal" in capsys.readouterr().out
    data = _json(path)
    assert data["config"]["mode"] == "train" and data["train"]["model"] == "tiny"
    assert data["ideal"]["images_per_epoch"] == 21 and data["ideal"]["images_per_s"] > 0
    assert data["dali"]["of_ideal"] > 0 and data["baseline"]["of_ideal"] > 0
    assert [(p["parameter"], p["value"]) for p in data["sweep"]] == [
        ("batch_size", 4), ("batch_size", 8)
    ]  # fmt: skip
    assert data["sweep"][0]["loaders"]["dali"]["batches_per_epoch"] == 6
    assert data["sweep"][0]["ideal"]["images_per_epoch"] == 21


@pytest.mark.integration
def test_demo_data_is_made_once_and_reused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("skimage")
    argv = ["bench", "--n", "16", "--classes", "2", "--cache-dir", str(tmp_path / "cache"),
            *FAST, "--loaders", "dali,reference", "--json", str(tmp_path / "r.json")]  # fmt: skip
    assert main(argv) == 0
    assert "made demo data" in capsys.readouterr().err
    data = _json(tmp_path / "r.json")
    assert data["env"]["dataset"]["images"] == 16
    assert 300 <= data["env"]["dataset"]["mean_width"] <= 700
    assert 75 <= data["env"]["dataset"]["jpeg_quality"] <= 95
    assert main(argv) == 0
    assert "reusing demo data" in capsys.readouterr().err


def test_large_demo_data_is_made_once_and_timed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "--large", "--n", "4", "--classes", "2", "--cache-dir", str(tmp_path)]
    out = tmp_path / "r.json"
    run = [*argv, *FAST, "--batch-size", "2", "--loaders", "dali,reference", "--json", str(out)]
    assert main(run) == 0
    assert "made demo data" in capsys.readouterr().err
    report = _json(out)
    assert report["env"]["dataset"]["images"] == 4
    assert (
        min(report["env"]["dataset"]["mean_width"], report["env"]["dataset"]["mean_height"]) >= 1500
    )
    assert main(run) == 0
    assert "reusing demo data" in capsys.readouterr().err
    assert main([*argv, "--data", str(tmp_path)]) == 2  # --large is demo data only
    assert main([*argv, "--modality", "audio"]) == 2
