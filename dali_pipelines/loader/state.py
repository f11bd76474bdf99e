"""Resume: what a loader's ``state_dict`` holds and which states a loader accepts.

Resume needs no DALI checkpoint: order and augmentations are pure functions of
(seed, epoch, index), so restarting the epoch at batch ``k`` reproduces it exactly. A state from
another setup (spec, dataset size, world size, batch size, seed, shuffle, drop_last) is refused
naming the first field that differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import LoaderStateError

STATE_VERSION = 1
#: What must be equal for a state to resume this loader, in the order they are compared.
MUST_MATCH = ("spec", "dataset_size", "world_size", "batch_size", "seed", "shuffle", "drop_last")


class Sampler:
    """``loader.sampler``: what Lightning and timm call ``set_epoch`` on."""

    def __init__(self, loader: Any):
        self._loader = loader

    def set_epoch(self, epoch: int) -> None:
        self._loader.set_epoch(epoch)

    def __len__(self) -> int:
        return int(self._loader._order.samples_per_rank)


def make_state(position: tuple[int, int], setup: Mapping[str, Any]) -> dict[str, Any]:
    """A state dict: the (epoch, batches done) position and the setup it belongs to."""
    epoch, done = position
    return {"version": STATE_VERSION, "epoch": epoch, "batch": done, **setup}


def check_state(
    state: Mapping[str, Any], mine: Mapping[str, Any], *, seed_drawn: bool = False
) -> tuple[int, int]:
    """The (epoch, batch) to resume at; :class:`LoaderStateError` names what does not fit."""
    if state.get("version") != STATE_VERSION:
        raise LoaderStateError(
            f"state.version: expected {STATE_VERSION}, got {state.get('version')!r}"
        )
    for key in MUST_MATCH:
        if state.get(key) != mine[key]:
            hint = (
                " (this loader's seed was drawn from torch's generator: pass the state's seed "
                "as seed=)"
                if key == "seed" and seed_drawn
                else ""
            )
            raise LoaderStateError(
                f"state.{key}: expected {mine[key]!r} (this loader), got {state.get(key)!r}{hint}"
            )
    return int(state["epoch"]), int(state["batch"])
