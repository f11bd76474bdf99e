"""Resume: what a loader's ``state_dict`` holds and which states a loader accepts.

Resume needs no DALI checkpoint: order and augmentations are pure functions of
(seed, epoch, index), so restarting the epoch at batch ``k`` reproduces it exactly. A state is
validated by a strict :class:`LoaderState` model first (every key present, ints as ints: a
``2.7``, ``True`` or ``"3"`` is refused, never truncated), then compared with this loader: a
state from another setup (spec, dataset size, world size, batch size, seed, shuffle,
drop_last) is refused naming the first field that differs, and its ``batch`` must lie in
``0 <= batch <= len(loader)``. Every refusal is a :class:`LoaderStateError` naming the field.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, Field, ValidationError

from .._model import FrozenModel
from ..errors import LoaderStateError

STATE_VERSION = 1
#: What must be equal for a state to resume this loader, in the order they are compared.
MUST_MATCH = (
    "spec",
    "dataset_size",
    "world_size",
    "batch_size",
    "seed",
    "shuffle",
    "drop_last",
    "order",
)
#: Order seeds and epochs stay below this (``seed + epoch`` seeds a torch generator).
EPOCH_LIMIT = 2**63


class LoaderState(FrozenModel):
    """A loader's ``state_dict``: the (epoch, batches done) position and the setup it is for."""

    model_config = ConfigDict(strict=True)

    version: int
    epoch: int = Field(ge=0, lt=EPOCH_LIMIT)
    batch: int = Field(ge=0)
    seed: int = Field(ge=0, lt=EPOCH_LIMIT)
    spec: str
    dataset_size: int = Field(ge=1)
    world_size: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    shuffle: bool
    drop_last: bool
    #: The bucketed order's fingerprint (durations and bucketing); ``None``: a permutation.
    order: str | None = None


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


def check_epoch(epoch: Any) -> int:
    """``set_epoch``'s argument as an int in ``[0, 2**63)``, else :class:`LoaderStateError`."""
    if isinstance(epoch, bool) or not hasattr(epoch, "__index__"):
        raise LoaderStateError(f"epoch: expected an int >= 0, got {epoch!r}")
    value = epoch.__index__()
    if not 0 <= value < EPOCH_LIMIT:
        raise LoaderStateError(f"epoch: expected an int >= 0 and < 2**63, got {value}")
    return int(value)


def check_state(
    state: Any, mine: Mapping[str, Any], batches: int, *, seed_drawn: bool = False
) -> tuple[int, int]:
    """The (epoch, batch) to resume at; :class:`LoaderStateError` names what does not fit.

    ``batches`` is ``len(loader)``: a state at ``batch == len(loader)`` (its epoch done)
    resumes at the start of the next epoch.
    """
    parsed = _parse(state)
    for key in MUST_MATCH:
        theirs = getattr(parsed, key)
        if theirs != mine[key]:
            hint = (
                " (this loader's seed was drawn from torch's generator: pass the state's seed "
                "as seed=)"
                if key == "seed" and seed_drawn
                else ""
            )
            raise LoaderStateError(
                f"state.{key}: expected {mine[key]!r} (this loader), got {theirs!r}{hint}"
            )
    if parsed.batch > batches:
        raise LoaderStateError(
            f"state.batch: expected an int <= {batches} (the loader's batches per epoch), "
            f"got {parsed.batch}"
        )
    if parsed.batch == batches:
        if parsed.epoch + 1 >= EPOCH_LIMIT:
            raise LoaderStateError(f"state.epoch: expected an int < 2**63 - 1, got {parsed.epoch}")
        return parsed.epoch + 1, 0
    return parsed.epoch, parsed.batch


def _parse(state: Any) -> LoaderState:
    if not isinstance(state, Mapping):
        raise LoaderStateError(
            f"state: expected a dict from DataLoader.state_dict(), got {_short(state)}"
        )
    version = state.get("version", _MISSING)
    if version is _MISSING or type(version) is not int or version != STATE_VERSION:
        got = "nothing (the key is missing)" if version is _MISSING else _short(version)
        raise LoaderStateError(f"state.version: expected {STATE_VERSION}, got {got}")
    try:
        return LoaderState.model_validate(dict(state))
    except ValidationError as exc:
        raise LoaderStateError(_message(exc)) from None


_MISSING = object()


def _message(exc: ValidationError) -> str:
    """The first error as ``state.field: expected X, got Y``."""
    error = exc.errors()[0]
    name = ".".join(str(part) for part in error["loc"]) or "state"
    if error["type"] == "missing":
        got = "nothing (the key is missing)"
    elif error["type"] == "extra_forbidden":
        return f"state.{name}: expected no such key (keys: {', '.join(LoaderState.model_fields)})"
    else:
        got = _short(error["input"])
    return f"state.{name}: expected {_expected(name)}, got {got}"


def _expected(name: str) -> str:
    info = LoaderState.model_fields[name]
    if info.annotation is bool:
        return "True or False"
    if info.annotation is str:
        return "a string"
    bounds = []
    for constraint in info.metadata:
        if getattr(constraint, "ge", None) is not None:
            bounds.append(f">= {constraint.ge}")
        if getattr(constraint, "lt", None) is not None:
            bounds.append("< 2**63" if constraint.lt == EPOCH_LIMIT else f"< {constraint.lt}")
    return "an int" + (" " + " and ".join(bounds) if bounds else "")


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 60
_REPR.maxlevel = 2


def _short(value: Any) -> str:
    """``repr(value)``, bounded: a state comes from a file and may hold anything."""
    return _REPR.repr(value)
