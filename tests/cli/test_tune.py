"""``dali-pipelines tune``: usage errors before any work, a run that writes a YAML the loader
takes, the plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.cli.main import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cpu-budget", "0"], "expected a share in (0, 1]"),
        (["--threads", "0,1"], "expected positive integers"),
        (["--budget", "-1"], "expected seconds > 0"),
        (["--spec", "imagenet_vall"], "SPEC: expected a strategy name"),
    ],
)
def test_bad_usage_is_2(
    jpeg_folder: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["tune", "--data", str(jpeg_folder), *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.integration
def test_tune_writes_settings_the_loader_takes(
    jpeg_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    out, png = tmp_path / "tuned.yaml", tmp_path / "threads.png"
    argv = ["tune", "--data", str(jpeg_folder), "--spec", "imagenet_val", "--budget", "4"]
    argv += ["--out", str(out), "--batch-sizes", "4", "--threads", "1,2", "--prefetch", "2"]
    assert main([*argv, "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "recommended: t" in text and "runner-up: t" in text
    assert png.stat().st_size > 0
    assert (tmp_path / "threads-stages.png").stat().st_size > 0  # from loader.profile
    assert out.read_text().startswith("# dali-pipelines tune --data")
    with DataLoader(ImageFolder(jpeg_folder), "imagenet_val", config=out) as loader:
        assert loader.batch_size == 4 and loader.num_threads in (1, 2)
        assert loader.prefetch_queue_depth == 2
