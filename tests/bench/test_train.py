"""Train mode: the step adapts to the spec's output, the ideal replays real epochs, the report
has every loader's share of the ideal. Fake loaders and tiny tensors: seconds, not speed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from dali_pipelines.bench import BenchConfig, planned_epochs, run_bench
from dali_pipelines.bench.train import BatchCache, ReplayBatches, TrainStep, resolve_model
from dali_pipelines.spec import load_spec

from .test_report import FakeLoader, config, fake_loaders  # noqa: F401  (fixture)


def test_resolve_model() -> None:
    assert resolve_model("auto", "cpu") == "tiny"
    assert resolve_model("auto", "gpu") == "resnet18"
    assert resolve_model("resnet50", "cpu") == "resnet50"
    with pytest.raises(ValueError, match="model: expected one of"):
        resolve_model("vgg", "cpu")


@pytest.mark.parametrize(
    ("output", "images"),
    [
        ({}, torch.rand(4, 3, 32, 32)),
        (
            {"layout": "HWC", "dtype": "uint8"},
            torch.randint(0, 255, (4, 32, 32, 3), dtype=torch.uint8),
        ),
    ],
)
def test_step_trains_on_the_spec_output(output: dict[str, Any], images: torch.Tensor) -> None:
    spec = load_spec({"ops": [{"op": "center_crop", "size": [32, 32]}], "output": output})
    step = TrainStep("tiny", spec, classes=3, device=torch.device("cpu"))
    before = [p.detach().clone() for p in step.model.parameters()]
    labels = torch.tensor([0, 1, 2, 7])  # 7 is folded into the 3 classes, not an error
    assert step((images, labels)) == 4
    assert step.steps == 1 and step.parameters > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, step.model.parameters()))
    prepared, folded = step.prepare((images, labels))
    assert prepared.shape == (4, 3, 32, 32) and prepared.is_floating_point()
    assert folded.tolist() == [0, 1, 2, 1]


def test_grayscale_specs_feed_a_resnet_three_channels() -> None:
    spec = load_spec(
        {"decode": {"color": "grayscale"}, "ops": [{"op": "center_crop", "size": [32, 32]}]}
    )
    step = TrainStep("resnet18", spec, classes=2, device=torch.device("cpu"))
    prepared, _ = step.prepare((torch.rand(2, 1, 32, 32), torch.tensor([0, 1])))
    assert prepared.shape == (2, 3, 32, 32)


def test_cache_keeps_copies_within_its_budget_and_replays_epochs() -> None:
    batch_bytes = 4 * 3 * 2 * 2 * 4
    cache = BatchCache(torch.device("cpu"), max_bytes=2 * batch_bytes)
    source = [(torch.full((4, 3, 2, 2), float(i)), torch.arange(4)) for i in range(4)]
    source.insert(1, (torch.full((1, 3, 2, 2), 9.0), torch.arange(1)))  # fits, but is short
    for batch in source:
        assert cache(batch) == batch[0].shape[0]
    source[0][0].fill_(-1)  # a loader reusing its buffer does not change the cache
    replay = cache.replay()
    assert len(cache.cached) == 2 and cache.sizes == [4, 1, 4, 4, 4]
    first = [images[0, 0, 0, 0].item() for images, _ in replay]
    assert first == [0.0, 1.0, 0.0, 1.0, 0.0]
    assert [images.shape[0] for images, _ in replay] == [4, 1, 4, 4, 4] and len(replay) == 5
    with pytest.raises(ValueError, match="expected cached batches"):
        ReplayBatches([], [])


def test_train_mode_reports_every_loader_and_the_ideal(
    jpeg_folder: Path,
    fake_loaders: list[FakeLoader],  # noqa: F811
) -> None:
    cfg: BenchConfig = config(mode="train", reps=2, loaders=["dali", "reference", "reference-tvio"])
    epochs: list[str] = []

    from dali_pipelines.bench.runner import EpochTiming, Observer

    class Log(Observer):
        def epoch_done(self, subject: str, label: str, timing: EpochTiming) -> None:
            epochs.append(f"{subject} {label}")

    report = run_bench(jpeg_folder, cfg, observer=Log())
    # One capture epoch for the ideal, then the ideal is a subject like the loaders.
    assert epochs[0] == "ideal capture" and len(epochs) == planned_epochs(cfg) == 1 + 4 * 3
    assert report.ideal is not None and report.ideal.backend == "memory"
    assert report.ideal.images_per_epoch == 21 and report.ideal.of_ideal == 1.0
    assert report.train is not None and report.train.model == "tiny"
    assert report.train.cached_batches == 5 and report.train.device == "cpu"  # full batches
    for result in report.loaders.values():
        assert result.of_ideal == pytest.approx(result.images_per_s / report.ideal.images_per_s)
    assert report.config.mode == "train"
