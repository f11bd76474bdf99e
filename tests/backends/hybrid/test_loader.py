"""Integration: Python stages in the loader, inline and in worker processes, on real DALI."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from torchvision.transforms import v2

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.errors import DaliPipelinesError, PythonStageError

pytestmark = pytest.mark.integration

MEAN, STD = [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]


class PaintCorner:
    """A user transform on PIL images: a white 4 x 4 top-left corner (observable downstream)."""

    def __call__(self, image: Any) -> Any:
        image = image.copy()
        image.paste((255, 255, 255), (0, 0, 4, 4))
        return image


class FailOn:
    """Fails on images of one width: deterministic, and names a file the test can check."""

    def __init__(self, width: int) -> None:
        self.width = width

    def __call__(self, image: Any) -> Any:
        if image.size[0] == self.width:
            raise ValueError(f"width {self.width} is not allowed")
        return image


class DieInWorker:
    def __call__(self, image: Any) -> Any:
        if multiprocessing.parent_process() is not None:  # not while from_torchvision probes
            os._exit(3)  # a crash in native code looks like this to the parent
        return image


def _compose(stage: Any) -> v2.Compose:
    return v2.Compose(
        [
            v2.RandomResizedCrop(32),
            stage,
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(MEAN, STD),
        ]
    )


def _epoch(loader: DataLoader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


def test_dali_python_torch_and_the_stage_really_runs(jpeg_folder: Path) -> None:
    ds = ImageFolder(jpeg_folder, transform=_compose(PaintCorner()))
    with DataLoader(ds, batch_size=4, shuffle=True, num_workers=2, device="cpu") as loader:
        where = [step.where for step in loader.ops_placement.steps]
        assert where == ["dali-cpu", "python-workers", "torch-batch", "torch-batch"]
        batches = _epoch(loader)
    with DataLoader(ds, batch_size=4, shuffle=True, backend="reference", num_workers=1) as ref:
        ref_images, _ = next(iter(ref))
    images = torch.cat([x for x, _ in batches])
    assert images.shape[1:] == ref_images.shape[1:] and images.dtype == ref_images.dtype
    torch.testing.assert_close(images[:, :, :4, :4], torch.ones_like(images[:, :, :4, :4]))
    assert float(images[:, :, 8:, 8:].mean()) < 0.9  # the rest is the photo, not white
    labels = torch.cat([y for _, y in batches])
    assert sorted(labels.tolist()) == sorted(ds.targets)  # every sample once


@pytest.mark.parametrize("workers", [0, 2])
def test_a_failing_stage_names_the_op_the_sample_and_its_file(
    jpeg_folder: Path, workers: int
) -> None:
    plain = ImageFolder(jpeg_folder)
    width = _width_of(plain, 5)
    ds = ImageFolder(jpeg_folder, transform=v2.Compose([FailOn(width), v2.CenterCrop(24)]))
    with (
        DataLoader(ds, batch_size=4, num_workers=workers, device="cpu") as loader,
        pytest.raises(PythonStageError) as info,
    ):
        _epoch(loader)
    err = info.value
    assert err.index is not None
    assert err.op == "FailOn" and err.path == plain.path(err.index)
    assert _width_of(plain, err.index) == width
    assert f"sample {err.index} ({err.path})" in str(err)
    assert isinstance(err.__cause__, ValueError)  # the original exception, chained
    if workers:
        assert "in __call__" in str(err.__cause__.__cause__)  # the worker's traceback


def test_an_inline_stage_failure_names_the_file(jpeg_folder: Path) -> None:
    spec = {"ops": [{"op": "center_crop", "size": 24}, {"op": "python", "name": "test_fail"}]}
    with DataLoader(ImageFolder(jpeg_folder), spec, batch_size=4, device="cpu") as loader:
        assert loader.ops_placement.mode == "inline"
        with pytest.raises(PythonStageError, match=r"'test_fail' failed on sample 0 \(") as info:
            _epoch(loader)
    assert info.value.path is not None and info.value.path.endswith("000.jpg")
    assert isinstance(info.value.__cause__, ValueError)


def test_a_dead_worker_is_reported_quickly(jpeg_folder: Path) -> None:
    ds = ImageFolder(jpeg_folder, transform=v2.Compose([v2.CenterCrop(24), DieInWorker()]))
    start = time.perf_counter()
    with (
        DataLoader(ds, batch_size=4, num_workers=2, device="cpu") as loader,
        pytest.raises(PythonStageError, match="worker process died"),
    ):
        _epoch(loader)
    assert time.perf_counter() - start < 10


def test_same_seed_same_batches_whatever_the_placement_or_worker_count(jpeg_folder: Path) -> None:
    spec = {
        "ops": [
            {"op": "random_resized_crop", "size": [24, 24]},
            {"op": "python", "name": "test_noise"},
            {"op": "horizontal_flip"},
            {"op": "normalize", "mean": MEAN, "std": STD},
        ]
    }
    runs = []
    for placement, workers in [("inline", 1), ("workers", 0), ("workers", 2)]:
        with DataLoader(
            ImageFolder(jpeg_folder),
            spec,
            batch_size=5,
            shuffle=True,
            seed=4,
            device="cpu",
            python_placement=placement,  # type: ignore[arg-type]
            python_workers=workers,
        ) as loader:
            runs.append(_epoch(loader) + _epoch(loader))
    for other in runs[1:]:
        for (xa, ya), (xb, yb) in zip(runs[0], other, strict=True):
            assert torch.equal(ya, yb)
            # DALI's flip + normalize vs torch's: the same values up to float rounding.
            torch.testing.assert_close(xa, xb, atol=1e-5, rtol=0)
    assert not torch.equal(runs[0][0][0], runs[0][len(runs[0]) // 2][0])  # epochs differ


def test_torch_arguments(jpeg_folder: Path) -> None:
    ds = ImageFolder(jpeg_folder, transform=v2.Compose([v2.CenterCrop(24), v2.ToImage()]))
    generator = torch.Generator().manual_seed(11)
    with DataLoader(
        ds,
        8,
        shuffle=True,
        drop_last=True,
        num_workers=2,
        prefetch_factor=3,
        generator=generator,
        persistent_workers=True,
        pin_memory=False,
        timeout=0,
    ) as loader:
        assert (loader.batch_size, loader.seed, loader.num_threads) == (8, 11, 2)
        assert loader.prefetch_queue_depth == 3 and len(loader) == 2
    unsupported: dict[str, Any] = {"collate_fn": list, "sampler": [0], "worker_init_fn": print}
    for name, value in unsupported.items():
        with pytest.raises(DaliPipelinesError, match=f"{name}: not supported: "):
            DataLoader(ds, batch_size=2, **{name: value})
    with pytest.raises(TypeError, match="unexpected keyword argument 'bacth_size'"):
        DataLoader(ds, bacth_size=2)


def _width_of(ds: ImageFolder, index: int) -> int:
    from PIL import Image

    with Image.open(ds.path(index)) as image:
        return int(image.size[0])


def test_the_reference_backend_names_the_file_too(jpeg_folder: Path) -> None:
    spec = {"ops": [{"op": "center_crop", "size": 24}, {"op": "python", "name": "test_fail"}]}
    # The worker hands the failure back as data (no worker dies): the loader raises it here.
    with (
        DataLoader(ImageFolder(jpeg_folder), spec, batch_size=4, backend="reference") as loader,
        pytest.raises(
            PythonStageError, match=r"'test_fail' failed on sample 0 \(.*000\.jpg\)"
        ) as info,
    ):
        _epoch(loader)
    assert (info.value.op, info.value.index) == ("test_fail", 0)
    assert info.value.path == ImageFolder(jpeg_folder).path(0)
    assert isinstance(info.value.__cause__, ValueError)
