"""torchrun with 3 CPU ranks (gloo): the loader shards exactly like DistributedSampler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import DistributedSampler

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKER = Path(__file__).with_name("dist_worker.py")
ELASTIC_WORKER = Path(__file__).with_name("dist_elastic_worker.py")
ROOT = Path(__file__).resolve().parents[2]
N, BATCH, WORLD = 1001, 7, 3


def _torch_reference(drop_last: bool) -> list[list[list[list[int]]]]:
    """Per rank, per epoch, the batches torch's DistributedSampler + DataLoader deliver."""
    data = list(range(N))
    ranks = []
    for rank in range(WORLD):
        sampler = DistributedSampler(data, WORLD, rank, shuffle=True, seed=11, drop_last=drop_last)
        loader = TorchDataLoader(data, batch_size=BATCH, sampler=sampler, drop_last=drop_last)
        epochs = []
        for epoch in range(2):
            sampler.set_epoch(epoch)
            epochs.append([batch.tolist() for batch in loader])
        ranks.append(epochs)
    return ranks


@pytest.mark.parametrize("drop_last", [False, True])
def test_torchrun_three_ranks(tmp_path: Path, drop_last: bool) -> None:
    out = tmp_path / "ranks"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={WORLD}",
        str(WORKER),
        str(out),
        "1" if drop_last else "0",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = sorted(
        (json.loads(Path(f"{out}.{r}.json").read_text()) for r in range(WORLD)),
        key=lambda r: r["rank"],
    )
    expected = _torch_reference(drop_last)
    lengths = {r["len"] for r in results}
    assert len(lengths) == 1  # every rank the same number of batches
    for result, reference in zip(results, expected):
        assert result["world"] == WORLD
        assert result["epochs"] == reference  # same batches, same order, per rank and epoch
    for epoch in range(2):
        delivered = Counter(i for r in results for b in r["epochs"][epoch] for i in b)
        if drop_last:
            # Dropped at both levels: 1001 -> 333 per rank -> 47 full batches of 7.
            assert sum(delivered.values()) == (N // WORLD) // BATCH * BATCH * WORLD
            assert max(delivered.values()) == 1
        else:
            assert sum(delivered.values()) == 1002 and set(delivered) == set(range(N))
    first = [i for b in results[0]["epochs"][0] for i in b]
    second = [i for b in results[0]["epochs"][1] for i in b]
    assert first != second
    assert torch.tensor(first).unique().numel() == len(first)


def _torchrun(world: int, *args: str) -> list[dict]:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += [f"--nproc_per_node={world}", str(ELASTIC_WORKER), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = args[1]
    return [json.loads(Path(f"{out}.{r}.json").read_text()) for r in range(world)]


def test_torchrun_four_ranks_resumed_on_three(tmp_path: Path) -> None:
    """The elastic recipe of docs/distributed.md: 4 ranks save after 10 batches (280 of 1,001
    samples), 3 ranks resume: epoch 0 exactly once (plus the padding's repeats), epoch 1 a
    fresh 3-rank epoch."""
    checkpoint = str(tmp_path / "ckpt.pt")
    saved = _torchrun(4, "save", str(tmp_path / "save"), checkpoint, "10")
    resumed = _torchrun(3, "resume", str(tmp_path / "resume"), checkpoint, "10")
    first = Counter(i for r in saved for b in r["epochs"][0] for i in b)
    rest = Counter(i for r in resumed for b in r["epochs"][0] for i in b)
    assert first.total() == 280 and max(first.values()) == 1
    assert set(first + rest) == set(range(N))
    assert (first + rest).total() == 280 + -(-(N - 280) // 3) * 3  # 721 left: 2 repeats
    epoch1 = [r["epochs"][1] for r in resumed]
    assert len({len(e) for e in epoch1}) == 1
    assert Counter(i for e in epoch1 for b in e for i in b).total() == -(-N // 3) * 3
    assert set(i for e in epoch1 for b in e for i in b) == set(range(N))
