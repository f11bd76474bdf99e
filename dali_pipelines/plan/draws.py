"""The one seed policy: every random number the loader uses is a pure function of its coordinates.

* **Order**: the epoch's permutation comes from ``torch.randperm`` seeded with
  :func:`order_seed` (``seed + epoch``, exactly what ``DistributedSampler`` does), so a rank's
  batches equal torch's for the same seed.
* **Per-sample draws**: each op's parameters come from :func:`sample_rng`, a Philox generator
  keyed by (seed, epoch) whose counter starts at (index, stream): a counter-based generator
  needs no seeding work per sample (setting its state costs ~3 us against ~15 us for a
  ``SeedSequence``), and streams of different samples never overlap. Every executor (DALI's
  argument inputs, the torch reference, Python workers) calls :func:`draw_sample`, so all of
  them apply the same numbers.
* **Batch ops** (MixUp/CutMix): :func:`batch_rng` keyed by (seed, epoch) with the stream of
  (rank, batch position) in another domain of the counter.

Drawing with several image columns: shared steps of every column read the sample's shared
stream (so equal-sized columns get equal parameters); a step drawn per column reads the
column's own stream. With one image column every step reads the shared stream in chain order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..ops.base import Args, Size

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .planner import Plan

_MASK = (1 << 64) - 1
#: Counter words: [block, index, stream, domain]; Philox advances the first as it draws.
_SAMPLE_DOMAIN = 0
_BATCH_DOMAIN = 1


def order_seed(seed: int, epoch: int) -> int:
    """The seed of the epoch's permutation (``DistributedSampler``: seed + epoch)."""
    return seed + epoch


def dali_seed(seed: int, rank: int) -> int:
    """DALI's own pipeline seed; only ops drawing inside DALI use it (ours draw in Python)."""
    return (seed * 1_000_003 + rank) % (2**31)


def _state(key: tuple[int, int], index: int, stream: int, domain: int) -> Any:
    return {
        "bit_generator": "Philox",
        "state": {
            "counter": np.array([0, index & _MASK, stream & _MASK, domain], dtype=np.uint64),
            "key": np.array([key[0] & _MASK, key[1] & _MASK], dtype=np.uint64),
        },
        "buffer": np.zeros(4, dtype=np.uint64),
        "buffer_pos": 4,
        "has_uint32": 0,
        "uinteger": 0,
    }


class _Reusable(threading.local):
    """One generator per thread, re-keyed per sample instead of created per sample."""

    def __init__(self) -> None:
        self.bit_generator = np.random.Philox(key=0)
        self.generator = np.random.Generator(self.bit_generator)


_REUSABLE = _Reusable()


def sample_rng(
    seed: int, epoch: int, index: int, column: int | None = None, *, fresh: bool = False
) -> np.random.Generator:
    """The generator of a sample's parameters: shared (``column=None``) or one column's own.

    By default the calling thread's one generator is re-keyed and returned (valid until the
    thread's next call); ``fresh=True`` returns a new generator one may keep.
    """
    state = _state((seed, epoch), index, 0 if column is None else column + 1, _SAMPLE_DOMAIN)
    if fresh:
        bit_generator = np.random.Philox(key=0)
        bit_generator.state = state
        return np.random.Generator(bit_generator)
    _REUSABLE.bit_generator.state = state
    return _REUSABLE.generator


def batch_rng(seed: int, epoch: int, rank: int, position: int) -> np.random.Generator:
    """A batch op's generator for batch ``position`` of ``epoch`` on ``rank`` (a fresh one)."""
    bit_generator = np.random.Philox(key=0)
    bit_generator.state = _state((seed, epoch), position, rank, _BATCH_DOMAIN)
    return np.random.Generator(bit_generator)


@dataclass(frozen=True)
class Drawn:
    """One column's draws: per step the argument arrays and the size the step received."""

    args: list[Args]
    sizes: list[Size]  # input size of each step, then the final size
    final: Size


def draw_sample(plan: Plan, sizes: list[Size], seed: int, epoch: int, index: int) -> list[Drawn]:
    """Every image column's per-step arguments for decoded ``sizes`` (one per column)."""
    layout = plan.layout
    multi = len(sizes) > 1
    out: list[Drawn] = []
    for column, size in enumerate(sizes):
        drawn: list[Args] = []
        seen: list[Size] = []
        # Re-keyed per column: every column restarts the shared stream from the same point.
        shared = sample_rng(seed, epoch, index, fresh=multi and layout.per_column)
        own = sample_rng(seed, epoch, index, column) if multi and layout.per_column else shared
        for step, is_shared in zip(plan.steps, layout.shared):
            seen.append(size)
            step_args, size = step.draw(size, shared if is_shared else own)
            drawn.append(step_args)
        seen.append(size)
        out.append(Drawn(drawn, seen, size))
    return out


def replay(
    plan: Plan, size: Size, seed: int, epoch: int, index: int, end: int
) -> tuple[np.random.Generator, Size]:
    """The sample's shared generator advanced through ``plan.steps[:end]`` from the decoded
    ``size``, and the size there: a worker running the rest of a split plan draws on from it
    exactly what :func:`draw_sample` would."""
    rng = sample_rng(seed, epoch, index, fresh=True)
    for step in plan.steps[:end]:
        _, size = step.draw(size, rng)
    return rng, size
