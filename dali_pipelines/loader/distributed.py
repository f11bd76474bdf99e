"""Where this process sits in a job: global rank -> shard, local rank -> device."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessPlacement:
    rank: int
    world_size: int
    local_rank: int


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment {name}: expected an integer, got {value!r}") from None


def resolve_placement(rank: int | None = None, world_size: int | None = None) -> ProcessPlacement:
    """torch.distributed when initialised, else RANK/WORLD_SIZE, else one process.

    Explicit ``rank``/``world_size`` win. The local rank (the device index) comes from
    LOCAL_RANK, which torchrun sets; the global rank never picks the device, since on several
    nodes it exceeds the node's GPU count.
    """
    dist_rank, dist_world = None, None
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist_rank, dist_world = dist.get_rank(), dist.get_world_size()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    r = rank if rank is not None else dist_rank if dist_rank is not None else _env_int("RANK")
    w = (
        world_size
        if world_size is not None
        else dist_world
        if dist_world is not None
        else _env_int("WORLD_SIZE")
    )
    r = 0 if r is None else r
    w = 1 if w is None else w
    if w < 1:
        raise ValueError(f"world_size: expected >= 1, got {w}")
    if not 0 <= r < w:
        raise ValueError(f"rank: expected 0 <= rank < world_size={w}, got {r}")
    local = _env_int("LOCAL_RANK")
    return ProcessPlacement(rank=r, world_size=w, local_rank=local if local is not None else 0)
