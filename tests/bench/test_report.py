"""The report: its JSON keys and types (a contract with readers), and how a run assembles it.

Loaders are fakes here (instant, sized, closable): these tests cover the schema, not speed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from dali_pipelines.bench import (
    LOADERS,
    SCHEMA_VERSION,
    BenchConfig,
    BenchReport,
    planned_epochs,
    read_report,
    run_bench,
    write_report,
)
from dali_pipelines.bench.env import collect_env, dataset_info, jpeg_quality
from dali_pipelines.bench.loaders import LoaderChoice
from dali_pipelines.bench.report import loader_result, quartiles, speedup
from dali_pipelines.bench.runner import EpochTiming, Observer, SubjectTimings
from dali_pipelines.data import ImageFolder

FAKES = ("dali", "reference", "reference-tvio", "extra")


class FakeLoader:
    def __init__(self, dataset: ImageFolder, batch_size: int):
        self.n, self.batch_size = len(dataset), batch_size
        self.closed = False

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, self.n, self.batch_size):
            size = min(self.batch_size, self.n - start)
            yield torch.zeros(size, 3, 8, 8), torch.zeros(size, dtype=torch.int64)

    def close(self) -> None:
        self.closed = True


def install_fakes(monkeypatch: pytest.MonkeyPatch) -> list[FakeLoader]:
    """Replace the registered loaders with fakes; returns the list of fakes built."""
    made: list[FakeLoader] = []

    def build(dataset: Any, spec: Any, config: BenchConfig) -> FakeLoader:
        made.append(FakeLoader(dataset, config.batch_size))
        return made[-1]

    for name in FAKES:
        monkeypatch.setitem(LOADERS, name, LoaderChoice(name, f"{name}-backend", build))
    return made


@pytest.fixture
def fake_loaders(monkeypatch: pytest.MonkeyPatch) -> list[FakeLoader]:
    return install_fakes(monkeypatch)


def config(**overrides: Any) -> BenchConfig:
    base: dict[str, Any] = dict(
        spec="imagenet_train",
        batch_size=4,
        threads=2,
        reps=3,
        warmup=1,
        seed=0,
        device="cpu",
        loaders=["dali", "reference", "reference-tvio", "extra"],
    )
    return BenchConfig(**(base | overrides))


@pytest.fixture
def report(jpeg_folder: Path, fake_loaders: list[FakeLoader]) -> BenchReport:
    return run_bench(jpeg_folder, config(), command="dali-pipelines bench --reps 3")


def test_loader_mode_assembles_the_report(
    report: BenchReport, fake_loaders: list[FakeLoader]
) -> None:
    assert [loader.closed for loader in fake_loaders] == [True] * 4
    assert list(report.loaders) == ["dali", "reference", "reference-tvio", "extra"]
    assert report.dali == report.loaders["dali"] and report.baseline == report.loaders["reference"]
    assert report.dali.backend == "dali-backend" and report.dali.device == "cpu"
    assert report.dali.images_per_epoch == 21 and report.dali.batches_per_epoch == 6
    assert len(report.dali.images_per_s_reps) == 3 and len(report.dali.warmup_s) == 1
    assert report.speedup == pytest.approx(report.dali.images_per_s / report.baseline.images_per_s)
    assert set(report.speedups) == {"reference", "reference-tvio", "extra"}
    assert report.speedups["reference"] == report.speedup
    assert report.ideal is None and report.train is None and report.sweep == []
    assert report.spec_name == "imagenet_train" and len(report.spec_fingerprint) == 16
    assert report.env.dataset.images == 21 and report.env.dataset.classes == 3
    assert report.command == "dali-pipelines bench --reps 3"


def test_statistics_of_a_loader(report: BenchReport) -> None:
    r = report.dali
    assert r.images_per_s_q1 <= r.images_per_s <= r.images_per_s_q3
    assert r.images_per_s_iqr == pytest.approx(r.images_per_s_q3 - r.images_per_s_q1)
    assert 0 <= r.batch_ms.p50 <= r.batch_ms.p99 <= r.batch_ms.max
    assert 0 <= r.wait_ms.p50 <= r.wait_ms.p99 <= r.wait_ms.max
    assert 0 <= r.stall_fraction <= 1


def test_json_has_the_documented_keys_and_types(report: BenchReport, tmp_path: Path) -> None:
    path = write_report(report, tmp_path / "nested" / "bench.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION == 2
    # The foundation's keys keep their meaning.
    for key in ("dali", "baseline", "speedup", "spec_fingerprint", "env", "config"):
        assert key in data
    assert data["baseline"]["name"] == "reference"
    for name, result in data["loaders"].items():
        assert result["name"] == name
        for key in ("images_per_s", "images_per_s_q1", "images_per_s_q3", "images_per_s_iqr"):
            assert isinstance(result[key], float)
        assert all(isinstance(v, float) for v in result["images_per_s_reps"])
        assert set(result["batch_ms"]) == set(result["wait_ms"]) == {"mean", "p50", "p99", "max"}
        assert isinstance(result["stall_fraction"], float) and result["of_ideal"] is None
        assert isinstance(result["workers"], int) and result["device"] == "cpu"
    assert isinstance(data["speedup"], float)
    assert all(isinstance(v, float) for v in data["speedups"].values())
    assert data["ideal"] is None and data["train"] is None and data["sweep"] == []
    env = data["env"]
    for key in ("cpu_model", "python", "torch", "torchvision", "dali"):
        assert isinstance(env[key], str) and env[key]
    assert isinstance(env["cpu_cores"], int) and env["cpu_cores"] >= 1
    assert isinstance(env["torch_threads"], int)
    dataset = env["dataset"]
    assert dataset["images"] == 21 and dataset["mean_width"] >= 48 and dataset["mean_bytes"] > 0
    assert dataset["jpeg_fraction"] == 1.0 and dataset["jpeg_quality"] == pytest.approx(90, abs=1)
    cfg = data["config"]
    assert cfg["reps"] == 3 and cfg["mode"] == "loader" and cfg["model"] == "auto"
    assert read_report(path) == report


def test_reader_ignores_new_keys_and_refuses_other_versions(
    report: BenchReport, tmp_path: Path
) -> None:
    data = json.loads(report.model_dump_json())
    data["added_by_a_later_version"] = {"x": 1}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_report(path) == report
    data["schema_version"] = 1
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="schema_version: expected 2, got 1"):
        read_report(path)


@pytest.mark.parametrize(
    ("loaders", "message"),
    [(["dali", "nope", "reference"], "bench loaders"), (["dali"], "'reference'")],
)
def test_bad_loader_names(
    jpeg_folder: Path, fake_loaders: list[FakeLoader], loaders: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        run_bench(jpeg_folder, config(loaders=loaders))
    assert fake_loaders == []  # refused before any loader was built


def test_sweep_varies_one_parameter_at_a_time(
    jpeg_folder: Path, fake_loaders: list[FakeLoader]
) -> None:
    cfg = config(
        reps=1,
        warmup=0,
        loaders=["dali", "reference"],
        sweep={"threads": [1, 2], "batch_size": [4, 8]},
    )

    class Points(Observer):
        def __init__(self) -> None:
            self.points: list[str] = []
            self.epochs = 0

        def point_started(self, description: str) -> None:
            self.points.append(description)

        def epoch_done(self, subject: str, label: str, timing: EpochTiming) -> None:
            self.epochs += 1

    observer = Points()
    report = run_bench(jpeg_folder, cfg, observer=observer)
    # threads=2 and batch_size=4 are the headline point: measured once, shared.
    assert observer.points == ["batch_size=4 threads=2", "threads=1", "batch_size=8"]
    assert observer.epochs == planned_epochs(cfg) == 3 * 2
    assert [(p.parameter, p.value) for p in report.sweep] == [
        ("threads", 1), ("threads", 2), ("batch_size", 4), ("batch_size", 8)
    ]  # fmt: skip
    assert report.sweep[1].loaders == report.loaders  # the headline point
    assert [p.batch_size for p in report.sweep] == [4, 4, 4, 8]
    assert report.sweep[3].loaders["dali"].batches_per_epoch == 3
    assert set(report.sweep[0].speedups) == {"reference"}


def test_loader_result_takes_the_median_and_iqr() -> None:
    reps = [EpochTiming(images=10, batches=1, seconds=s) for s in (1.0, 0.5, 10.0, 2.0)]
    for t in reps:
        t.wait_s, t.batch_s = [t.seconds / 2], [t.seconds]
    timings = SubjectTimings(warmup=[EpochTiming(images=10, batches=1, seconds=5.0)], reps=reps)
    result = loader_result("x", "dali", 2, timings, build_s=0.1)
    assert result.images_per_s == pytest.approx(7.5)  # median of 10, 20, 1, 5
    assert (result.images_per_s_q1, result.images_per_s_q3) == pytest.approx((4.0, 12.5))
    assert result.warmup_s == [5.0]
    assert result.wait_ms.max == pytest.approx(5000.0)
    assert result.stall_fraction == pytest.approx(0.5)
    assert speedup(result, result) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least one timed rep"):
        loader_result("x", "dali", 2, SubjectTimings(), build_s=0.0)
    assert quartiles([3.0]) == (3.0, 3.0, 3.0)


def test_env_describes_machine_and_dataset(jpeg_folder: Path) -> None:
    env = collect_env(dataset_info(ImageFolder(jpeg_folder)), load_before=[0.5, 0.4, 0.3])
    assert env.cpu_usable <= env.cpu_cores
    assert torch.__version__.startswith(env.torch)
    assert 48 <= env.dataset.mean_height <= 96
    assert env.load_before == [0.5, 0.4, 0.3] and env.torch_threads >= 1


def test_jpeg_quality_estimate(tmp_path: Path) -> None:
    from PIL import Image

    image = Image.new("RGB", (32, 32), (120, 30, 200))
    for quality in (30, 75, 95):
        path = tmp_path / f"q{quality}.jpg"
        image.save(path, quality=quality)
        with Image.open(path) as im:
            assert jpeg_quality(getattr(im, "quantization", None)) == quality
    assert jpeg_quality(None) is None
