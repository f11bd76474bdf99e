"""``DataLoader(shuffle_algorithm="feistel")``: the constant-memory order through the loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.errors import LoaderConfigError, LoaderStateError
from dali_pipelines.loader.shuffle import FeistelPermutation


def _loader(folder: Path, **kwargs: object) -> DataLoader:
    args: dict[str, object] = dict(batch_size=4, shuffle=True, seed=5, device="cpu")
    args.update(backend="reference", num_threads=1, check="off")
    return DataLoader(ImageFolder(folder), "imagenet_train", **(args | kwargs))  # type: ignore[arg-type]


def _seen(loader: DataLoader, epoch: int) -> list[int]:
    return [int(i) for batch in loader._order.batches(epoch) for i in batch]


def test_feistel_order_reaches_the_loader_exactly_once_over_ranks(jpeg_folder: Path) -> None:
    seen: list[int] = []
    counts = set()
    for rank in range(3):
        loader = _loader(jpeg_folder, shuffle_algorithm="feistel", rank=rank, world_size=3)
        mine = _seen(loader, 1)
        counts.add(len(mine))
        seen += mine
        loader.close()
    assert counts == {7}  # 21 samples over 3 ranks: equal counts
    assert sorted(seen) == list(range(21))
    single = _loader(jpeg_folder, shuffle_algorithm="feistel")
    expected = FeistelPermutation.for_epoch(21, 5, 1).take(np.arange(21)).tolist()
    assert _seen(single, 1) == expected
    assert _seen(single, 1) != _seen(single, 2)
    images, _labels = next(iter(single))
    assert images.shape[0] == 4
    single.close()


def test_the_algorithm_is_part_of_the_resume_state(jpeg_folder: Path) -> None:
    feistel = _loader(jpeg_folder, shuffle_algorithm="feistel")
    state = feistel.state_dict()
    feistel.close()
    randperm = _loader(jpeg_folder)
    with pytest.raises(LoaderStateError, match="order"):
        randperm.load_state_dict(state)
    randperm.close()
    with pytest.raises(LoaderConfigError, match="shuffle_algorithm"):
        _loader(jpeg_folder, shuffle_algorithm="sorted")
