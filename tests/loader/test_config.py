"""LoaderConfig: every DataLoader argument validated at construction, torch's names mapped in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.errors import DaliPipelinesError, LoaderConfigError, LoaderStateError
from dali_pipelines.loader.config import LoaderConfig, parse_device

FIXED = {"ops": [{"op": "resize", "size": [24, 40]}], "output": {"dtype": "uint8"}}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size: expected an int >= 1, got 0"),
        ({"batch_size": 2.0}, "batch_size: expected an int >= 1, got 2.0"),
        ({"batch_size": True}, "batch_size: expected an int >= 1, got True"),
        ({"batch_size": "8"}, "batch_size: expected an int >= 1, got '8'"),
        ({"num_threads": 0}, "num_threads: expected an int >= 1, got 0"),
        ({"prefetch_queue_depth": 0}, "prefetch_queue_depth: expected an int >= 1, got 0"),
        ({"shuffle": 1}, "shuffle: expected True or False, got 1"),
        ({"seed": -1}, "seed: expected None or an int >= 0 and < 2**63, got -1"),
        ({"on_error": "ignore"}, "on_error: expected 'raise' or 'skip', got 'ignore'"),
        ({"check": "always"}, "check: expected 'off', 'first' or 'every', got 'always'"),
        ({"max_pixels": 0}, "max_pixels: expected None or an int >= 1, got 0"),
        (
            {"backend": "tf"},
            "backend: expected 'auto', 'dali', 'reference' or 'reference-tvio', got 'tf'",
        ),
        (
            {"python_placement": "gpu"},
            "python_placement: expected 'auto', 'inline' or 'workers', got 'gpu'",
        ),
        ({"python_workers": -1}, "python_workers: expected an int >= 0, got -1"),
        ({"rank": -1}, "rank: expected None or an int >= 0, got -1"),
        ({"world_size": 0}, "world_size: expected None or an int >= 1, got 0"),
        ({"rank": 2, "world_size": 2}, "rank: expected an int < world_size=2, got 2"),
        ({"batch_ops": 3}, "batch_ops: expected None or a list, got 3"),
        ({"device": "mps"}, "device: expected 'auto', 'cpu', 'gpu', 'cuda', 'cuda:N' or a "),
        ({"num_workers": -1}, "num_workers: expected an int >= 0, got -1"),
        ({"num_workers": "4"}, "num_workers: expected an int >= 0, got '4'"),
        ({"prefetch_factor": 0}, "prefetch_factor: expected an int >= 1, got 0"),
        ({"generator": 7}, "generator: expected a torch.Generator, got 7"),
    ],
)
def test_a_bad_argument_is_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(LoaderConfigError) as info:
        LoaderConfig(**kwargs)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, DaliPipelinesError) and isinstance(info.value, ValueError)


def test_the_loader_validates_before_reading_anything(tmp_path: Path) -> None:
    dataset = object()  # not even a dataset: the arguments are refused first
    with pytest.raises(LoaderConfigError, match="batch_size: expected an int >= 1, got 0"):
        DataLoader(dataset, FIXED, batch_size=0)
    with pytest.raises(LoaderConfigError, match="num_threads: expected an int >= 1, got 0"):
        DataLoader(dataset, FIXED, num_threads=0)
    with pytest.raises(LoaderConfigError, match=r"dataset: expected an ImageFolder, .* got object"):
        DataLoader(dataset, FIXED)
    with pytest.raises(TypeError, match="unexpected keyword argument 'bacth_size'"):
        DataLoader(dataset, FIXED, bacth_size=2)


def test_defaults_and_integer_types() -> None:
    config = LoaderConfig()
    assert (config.batch_size, config.seed, config.device, config.prefetch_queue_depth) == (
        1, None, "auto", 3
    )  # fmt: skip
    assert config.num_threads >= 1 and config.python_workers == config.num_threads
    numpy_ints = LoaderConfig(batch_size=np.int64(8), shuffle=np.bool_(True), seed=np.uint32(3))
    assert (numpy_ints.batch_size, numpy_ints.shuffle, numpy_ints.seed) == (8, True, 3)
    assert type(numpy_ints.batch_size) is int
    assert LoaderConfig(batch_ops=[{"op": "mixup"}]).batch_ops == ({"op": "mixup"},)


@pytest.mark.parametrize(
    ("spelling", "normalized", "index"),
    [
        ("auto", "auto", None),
        ("cpu", "cpu", None),
        ("gpu", "gpu", None),
        ("cuda", "gpu", None),
        ("CUDA:1", "gpu:1", 1),
        ("gpu:0", "gpu:0", 0),
        ("cpu:0", "cpu", None),
        (torch.device("cuda", 1), "gpu:1", 1),
        (torch.device("cuda"), "gpu", None),
        (torch.device("cpu"), "cpu", None),
        (2, "gpu:2", 2),
    ],
)
def test_torch_device_spellings(spelling: Any, normalized: str, index: int | None) -> None:
    assert parse_device(spelling) == normalized
    config = LoaderConfig(device=spelling)
    assert (config.device, config.device_index) == (normalized, index)
    assert config.device_kind == normalized.split(":")[0]


@pytest.mark.parametrize("spelling", ["mps", "auto:1", "cuda:-1", "", None, True, 1.0])
def test_other_devices_are_refused(spelling: Any) -> None:
    with pytest.raises(LoaderConfigError, match=r"^device: expected 'auto', 'cpu', 'gpu'"):
        LoaderConfig(device=spelling)


def test_torch_arguments_map_to_ours() -> None:
    config = LoaderConfig(num_workers=3, prefetch_factor=4, persistent_workers=True)
    assert (config.num_threads, config.python_workers, config.prefetch_queue_depth) == (3, 3, 4)
    inline = LoaderConfig(num_workers=0)
    assert (inline.num_threads, inline.python_workers) == (1, 0)
    both = LoaderConfig(num_workers=2, num_threads=6)  # threads given: workers still follow torch
    assert (both.num_threads, both.python_workers) == (6, 2)
    seeded = LoaderConfig(generator=torch.Generator().manual_seed(11))
    assert seeded.seed == 11
    assert LoaderConfig(seed=11, generator=torch.Generator().manual_seed(11)).seed == 11
    with pytest.raises(LoaderConfigError, match=r"^seed: expected seed= or generator=, got both"):
        LoaderConfig(seed=3, generator=torch.Generator().manual_seed(11))
    with pytest.raises(LoaderConfigError, match="prefetch_queue_depth: expected prefetch_queue"):
        LoaderConfig(prefetch_queue_depth=2, prefetch_factor=4)
    with pytest.raises(DaliPipelinesError, match="collate_fn: not supported: "):
        LoaderConfig(collate_fn=list)
    assert LoaderConfig(collate_fn=None, sampler=None, timeout=0).batch_size == 1


def test_loader_attributes_come_from_the_config(jpeg_folder: Path) -> None:
    with DataLoader(
        ImageFolder(jpeg_folder),
        FIXED,
        batch_size=4,
        seed=5,
        num_workers=2,
        prefetch_factor=3,
        backend="reference",
        device="cpu",
    ) as loader:
        assert loader.config.batch_size == loader.batch_size == 4
        assert (loader.seed, loader.num_threads, loader.python_workers) == (5, 2, 2)
        assert (loader.prefetch_queue_depth, loader.device, loader.device_index) == (3, "cpu", None)
        assert loader.output_device is None and loader.backend == "reference"


def test_positional_batch_size_once(jpeg_folder: Path) -> None:
    ds = ImageFolder(jpeg_folder, transform=lambda image: image)
    with pytest.raises(LoaderConfigError, match=r"batch_size: expected it once .* got 8 and 4"):
        DataLoader(ds, 8, batch_size=4)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only refusal")
def test_a_gpu_without_cuda_is_refused(jpeg_folder: Path) -> None:
    with pytest.raises(LoaderConfigError, match=r"device: expected a CUDA device for 'gpu:1'"):
        DataLoader(ImageFolder(jpeg_folder), FIXED, device="cuda:1")


# -- the seed ------------------------------------------------------------------------------------
def _seed_and_order(folder: Path, **kwargs: Any) -> tuple[int, list[int]]:
    loader = DataLoader(
        ImageFolder(folder), FIXED, batch_size=4, shuffle=True, backend="reference", **kwargs
    )
    return loader.seed, [int(i) for b in loader._order.batches(0) for i in b]


def test_seed_is_drawn_from_torchs_generator(jpeg_folder: Path) -> None:
    torch.manual_seed(0)
    first = _seed_and_order(jpeg_folder)
    torch.manual_seed(0)
    again = _seed_and_order(jpeg_folder)
    assert first == again  # torch.manual_seed makes an unseeded run reproducible
    other = _seed_and_order(jpeg_folder)  # the generator moved on: another seed, another order
    assert other[0] != first[0] and other[1] != first[1]
    assert 0 <= first[0] < 2**63
    torch.manual_seed(0)
    expected = int(torch.empty((), dtype=torch.int64).random_().item())
    assert first[0] == expected  # drawn as torch's RandomSampler draws its seed


def test_an_explicit_seed_wins(jpeg_folder: Path) -> None:
    torch.manual_seed(1)
    a = _seed_and_order(jpeg_folder, seed=7)
    torch.manual_seed(2)
    b = _seed_and_order(jpeg_folder, seed=7)
    assert a == b and a[0] == 7
    generator = torch.Generator().manual_seed(7)
    assert _seed_and_order(jpeg_folder, generator=generator) == a


def test_several_ranks_share_seed_zero_without_one(jpeg_folder: Path) -> None:
    torch.manual_seed(3)
    assert _seed_and_order(jpeg_folder, rank=1, world_size=2)[0] == 0  # DistributedSampler's


def test_a_drawn_seed_says_how_to_resume(jpeg_folder: Path) -> None:
    ds = ImageFolder(jpeg_folder)
    with DataLoader(ds, FIXED, batch_size=4, shuffle=True, backend="reference") as loader:
        state = loader.state_dict()
    with (
        DataLoader(ds, FIXED, batch_size=4, shuffle=True, backend="reference") as other,
        pytest.raises(LoaderStateError, match=r"state\.seed: .*pass the state's seed"),
    ):
        other.load_state_dict(state)
    seed = state["seed"]
    with DataLoader(ds, FIXED, batch_size=4, shuffle=True, seed=seed, backend="reference") as same:
        same.load_state_dict(state)
