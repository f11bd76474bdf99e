"""The report: its JSON keys and types (a contract with readers), and the loader-mode assembly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from rich.console import Console

from dali_pipelines.bench import (
    LOADERS,
    SCHEMA_VERSION,
    BenchConfig,
    BenchReport,
    read_report,
    run_loader_bench,
    write_report,
)
from dali_pipelines.bench.compare import LoaderChoice
from dali_pipelines.bench.env import collect_env, dataset_info
from dali_pipelines.bench.render import RichProgress, print_report
from dali_pipelines.bench.report import loader_result, speedup
from dali_pipelines.bench.runner import EpochTiming, SubjectTimings
from dali_pipelines.data import ImageFolder


class FakeLoader:
    def __init__(self, dataset: ImageFolder, batch_size: int):
        self.n, self.batch_size = len(dataset), batch_size
        self.closed = False

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, self.n, self.batch_size):
            size = min(self.batch_size, self.n - start)
            yield torch.zeros(size, 3, 2, 2), torch.zeros(size, dtype=torch.int64)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_loaders(monkeypatch: pytest.MonkeyPatch) -> list[FakeLoader]:
    made: list[FakeLoader] = []

    def build(dataset: ImageFolder, spec: Any, config: BenchConfig) -> FakeLoader:
        made.append(FakeLoader(dataset, config.batch_size))
        return made[-1]

    for name in ("dali", "reference", "extra"):
        monkeypatch.setitem(LOADERS, name, LoaderChoice(name, f"{name}-backend", build))
    return made


def _config(**overrides: Any) -> BenchConfig:
    base: dict[str, Any] = dict(
        spec="imagenet_train", batch_size=4, threads=2, reps=2, warmup=1, seed=0, device="cpu"
    )
    return BenchConfig(**(base | overrides))


@pytest.fixture
def report(jpeg_folder: Path, fake_loaders: list[FakeLoader]) -> BenchReport:
    return run_loader_bench(jpeg_folder, _config(), others=["extra"])


def test_loader_mode_assembles_the_report(
    report: BenchReport, fake_loaders: list[FakeLoader]
) -> None:
    assert [loader.closed for loader in fake_loaders] == [True, True, True]
    assert report.dali.backend == "dali-backend" and report.baseline.name == "reference"
    assert report.dali.images_per_epoch == 21 and report.dali.batches_per_epoch == 6
    assert len(report.dali.images_per_s_reps) == 2 and len(report.dali.warmup_s) == 1
    assert report.speedup == pytest.approx(report.dali.images_per_s / report.baseline.images_per_s)
    assert list(report.others) == ["extra"]
    assert report.spec_name == "imagenet_train" and len(report.spec_fingerprint) == 16
    assert report.env.dataset.images == 21 and report.env.dataset.classes == 3


def test_json_has_the_documented_keys_and_types(report: BenchReport, tmp_path: Path) -> None:
    path = write_report(report, tmp_path / "nested" / "bench.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION == 1
    for role in ("dali", "baseline"):
        assert isinstance(data[role]["images_per_s"], float)
        assert all(isinstance(v, float) for v in data[role]["images_per_s_reps"])
        assert isinstance(data[role]["workers"], int)
    assert isinstance(data["speedup"], float)
    assert isinstance(data["spec_fingerprint"], str)
    env = data["env"]
    for key in ("cpu_model", "python", "torch", "torchvision", "dali"):
        assert isinstance(env[key], str) and env[key]
    assert isinstance(env["cpu_cores"], int) and env["cpu_cores"] >= 1
    dataset = env["dataset"]
    assert dataset["images"] == 21 and dataset["mean_width"] >= 48 and dataset["mean_bytes"] > 0
    assert data["config"]["reps"] == 2 and data["config"]["mode"] == "loader"
    assert read_report(path) == report


def test_reader_ignores_new_keys_and_refuses_other_versions(
    report: BenchReport, tmp_path: Path
) -> None:
    data = json.loads(report.model_dump_json())
    data["added_by_a_later_version"] = {"x": 1}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_report(path) == report
    data["schema_version"] = 2
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="schema_version: expected 1, got 2"):
        read_report(path)


def test_unknown_loader_name(jpeg_folder: Path, fake_loaders: list[FakeLoader]) -> None:
    with pytest.raises(ValueError, match="bench loaders"):
        run_loader_bench(jpeg_folder, _config(), others=["nope"])


def test_loader_result_takes_the_median() -> None:
    timings = SubjectTimings(
        warmup=[EpochTiming(images=10, batches=1, seconds=5.0)],
        reps=[EpochTiming(images=10, batches=1, seconds=s) for s in (1.0, 0.5, 10.0)],
    )
    result = loader_result("x", "dali", 2, timings, build_s=0.1)
    assert result.images_per_s == pytest.approx(10.0)
    assert result.warmup_s == [5.0]
    assert speedup(result, result) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least one timed rep"):
        loader_result("x", "dali", 2, SubjectTimings(), build_s=0.0)


def test_env_describes_machine_and_dataset(jpeg_folder: Path) -> None:
    env = collect_env(dataset_info(ImageFolder(jpeg_folder)))
    assert env.cpu_usable <= env.cpu_cores
    assert torch.__version__.startswith(env.torch)
    assert 48 <= env.dataset.mean_height <= 96


def test_rendering(report: BenchReport, jpeg_folder: Path, fake_loaders: list[FakeLoader]) -> None:
    console = Console(record=True, width=140, force_terminal=False)
    print_report(report, console)
    text = console.export_text()
    assert "images/s" in text and "baseline" in text and "speedup" in text and "extra" in text
    progress_console = Console(record=True, width=140, force_terminal=False)
    with RichProgress(progress_console, total_epochs=9) as progress:
        run_loader_bench(jpeg_folder, _config(), others=["extra"], observer=progress)
    assert "dali" in progress_console.export_text()
