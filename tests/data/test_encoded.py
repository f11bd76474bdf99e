"""EncodedDataset: a torch Dataset returning encoded bytes feeds DALI, its Python in workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import Dataset

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.data.encoded import EncodedDataset, unpack
from dali_pipelines.errors import DatasetError, PythonStageError

pytestmark = pytest.mark.integration

SPEC = {"ops": [{"op": "random_resized_crop", "size": [24, 24]}, {"op": "horizontal_flip"}]}


class Files(Dataset[Any]):
    """Custom selection and label logic: the label is computed, the bytes read by hand."""

    def __init__(self, root: Path, fail_on: int | None = None):
        self.folder = ImageFolder(root)
        self.fail_on = fail_on
        self.main_pid = os.getpid()
        self.calls_here = 0  # calls in this process (the workers' do not count here)

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, index: int) -> dict[str, Any]:
        self.calls_here += os.getpid() == self.main_pid
        if index == self.fail_on:
            raise KeyError(f"no record for {index}")
        path, label = self.folder.samples[index]
        with open(path, "rb") as handle:
            return {"image": handle.read(), "label": label, "path": path}


def _epoch(loader: DataLoader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


def test_same_batches_as_the_image_folder_with_getitem_in_workers(jpeg_folder: Path) -> None:
    files = Files(jpeg_folder)
    source = EncodedDataset(files, workers=2, prefetch=2)
    kw: dict[str, Any] = {"batch_size": 4, "shuffle": True, "seed": 5, "device": "cpu"}
    with (
        DataLoader(source, SPEC, **kw) as ours,
        DataLoader(ImageFolder(jpeg_folder), SPEC, **kw) as ref,
    ):
        for _ in range(2):
            for (xa, ya), (xb, yb) in zip(_epoch(ours), _epoch(ref), strict=True):
                assert torch.equal(ya, yb) and torch.equal(xa, xb)
    assert files.calls_here == 0  # every __getitem__ ran in a worker process
    source.close()


def test_a_failing_getitem_names_the_sample(jpeg_folder: Path) -> None:
    source = EncodedDataset(Files(jpeg_folder, fail_on=6), workers=2)
    with (
        DataLoader(source, SPEC, batch_size=4, device="cpu") as loader,
        pytest.raises(PythonStageError, match=r"dataset.__getitem__ failed on sample 6 .*KeyError"),
    ):
        _epoch(loader)
    source.close()


def test_what_getitem_may_return() -> None:
    data = b"\xff\xd8\xff"
    assert unpack(data, 0)[1] == 0
    assert unpack((data, 3), 0)[1] == 3
    assert unpack((torch.tensor([255, 216], dtype=torch.uint8), 1, {"path": "a"}), 0)[2] == {
        "path": "a"
    }
    assert unpack({"bytes": data, "target": 2, "id": 9}, 0)[1:] == (2, {"id": 9})
    with pytest.raises(DatasetError, match="sample 4: expected encoded image bytes"):
        unpack(("not bytes", 0), 4)
