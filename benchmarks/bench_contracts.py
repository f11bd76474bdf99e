"""Cost of checking a batch against its contract, on the loader's batch: 64x3x224x224 float32.

What the loader pays per batch for each ``check``/``values`` setting:

* ``structural``: count, shape, bindings, dtype, device, memory format (metadata only);
* ``first``: + min/max of the batch's first sample (1/64 of the data);
* ``strided``: + min/max of ~64k elements spread over the batch (what ``check="every"`` reads);
* ``full``: + one min/max pass over all 9.6M elements (the first batch of each epoch).

Compare with the loader's time per batch (``bench_loader.py``: an epoch's time / its batches).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from dali_pipelines.contracts import ContractChecker, check_batch, load_contract

BATCH = 64


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    images = torch.randn(BATCH, 3, 224, 224).clamp_(-2.1, 2.6)
    return images, torch.randint(0, 1000, (BATCH,))


@pytest.mark.parametrize("values", ["off", "first", "strided", "full"])
def test_check_batch(benchmark: Any, batch: tuple[torch.Tensor, torch.Tensor], values: str) -> None:
    contract = load_contract("imagenet_train")
    check_batch(batch, contract, values=values)  # type: ignore[arg-type]  # warm the plan cache
    benchmark.extra_info["values"] = values
    benchmark.extra_info["elements"] = batch[0].numel()
    benchmark(check_batch, batch, contract, values=values)


def test_checker_every(benchmark: Any, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    """The loader's ``check="every"`` steady state: structure + a moving strided sample."""
    checker = ContractChecker(load_contract("imagenet_train"), check="every")
    checker(batch)  # the epoch's first batch (full values) is not the steady state
    benchmark(checker, batch)


def test_full_min_max_alone(benchmark: Any, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    """torch.aminmax over the images: the floor under ``values="full"``."""
    benchmark(torch.aminmax, batch[0])
