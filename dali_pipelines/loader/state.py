"""Resume: what a loader's ``state_dict`` holds and which states a loader accepts.

Resume needs no DALI checkpoint: order and augmentations are pure functions of
(seed, epoch, index), so restarting the epoch where it stopped reproduces it exactly.

**Global progress.** A state records the epoch, this rank's batches delivered (``batch``) and
``samples``: the epoch's samples consumed over all ranks (every rank ran ``batch`` batches, so
the first ``samples`` positions of the epoch's global order are done). A permutation order
(:class:`~.order.EpochOrder`) resumes from ``samples`` at any world size and batch size
(*elastic resume*): the positions left are split over the new ranks as a fresh run splits a
whole epoch (equal counts, padding by wrap-around, or truncation with ``drop_last``); later
epochs run as a fresh run of the new shape. At the saved shape this is exactly the rest of the
interrupted epoch. A length-bucketed order resumes at its own shape only.

A state is validated by a strict :class:`LoaderState` model first (every key present, ints as
ints: a ``2.7``, ``True`` or ``"3"`` is refused, never truncated), then compared with this
loader: a state from another setup (spec, dataset size, seed, shuffle, drop_last, order) is
refused naming the first field that differs; ``batch`` must lie in ``0 <= batch <= len(loader)``
at the saved shape and agree with ``samples``. Version 1 states (before ``samples``) are read
as ``samples = batch * batch_size * world_size``. Every refusal is a :class:`LoaderStateError`
naming the field.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
from pydantic import ConfigDict, Field, ValidationError

from .._model import FrozenModel
from ..errors import LoaderStateError

STATE_VERSION = 2
#: Versions a loader reads (1: no ``samples``; the position is ``batch`` at the saved shape).
READABLE_VERSIONS = (1, 2)
#: What must be equal for a state to resume this loader, in the order they are compared.
MUST_MATCH = ("spec", "dataset_size", "seed", "shuffle", "drop_last", "order")
#: The job's shape: free to change for an elastic order, else compared after ``MUST_MATCH``.
SHAPE = ("world_size", "batch_size")
#: Samples of a lazy order's epoch computed at once (8 MiB of int64 indices).
WINDOW_SAMPLES = 1 << 20
#: Order seeds and epochs stay below this (``seed + epoch`` seeds a torch generator).
EPOCH_LIMIT = 2**63


class LoaderState(FrozenModel):
    """A loader's ``state_dict``: the (epoch, batches done) position and the setup it is for."""

    model_config = ConfigDict(strict=True)

    version: int
    epoch: int = Field(ge=0, lt=EPOCH_LIMIT)
    batch: int = Field(ge=0)
    #: The epoch's samples consumed over all ranks (version 2 on).
    samples: int | None = Field(default=None, ge=0)
    seed: int = Field(ge=0, lt=EPOCH_LIMIT)
    spec: str
    dataset_size: int = Field(ge=1)
    world_size: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    shuffle: bool
    drop_last: bool
    #: The bucketed order's fingerprint (durations and bucketing); ``None``: a permutation.
    order: str | None = None


@dataclass(frozen=True)
class Position:
    """Where a loader stands: ``epoch``, this rank's batches of it delivered (``batch``) and
    the samples of it consumed over all ranks (``samples``)."""

    epoch: int
    batch: int = 0
    samples: int = 0

    @property
    def fresh(self) -> bool:
        """At the start of its epoch."""
        return self.batch == 0 and self.samples == 0


class ResumableOrder(Protocol):
    """What resuming asks of the loader's order (:class:`~.order.EpochOrder`,
    :class:`~.bucketing.LengthBucketOrder`)."""

    #: A state from another world size or batch size resumes it.
    elastic: bool

    def __len__(self) -> int: ...

    def batches(self, epoch: int) -> list[np.ndarray]: ...

    def resume(self, epoch: int, batch: int, samples: int) -> tuple[list[np.ndarray], int]: ...

    def consumed(self, epoch: int, start: int, base: int, number: int) -> int: ...


class LazyOrder(ResumableOrder, Protocol):
    """An order whose batches are computed a range at a time (:class:`~.order.EpochOrder`
    with a Feistel shuffle or none)."""

    batch_size: int
    step_samples: int

    def batch_count(self, start: int) -> int: ...

    def batch_range(self, epoch: int, start: int, first: int, stop: int) -> list[np.ndarray]: ...


class EpochRun:
    """One epoch's batches on this rank from a position, and the position after each batch.

    The loader's iteration and any simulation of it (tests of many ranks over virtual data)
    share it, so the positions a state records are the ones a resume reads. A :attr:`lazy`
    order's batches come in windows of about :data:`WINDOW_SAMPLES` samples, computed when
    reached: memory stays bounded whatever the epoch's size (10^9 samples on 8 ranks would be
    1 GB of indices a rank held at once).
    """

    def __init__(self, order: ResumableOrder, start: Position):
        self.order, self.start = order, start
        self._all: list[np.ndarray] | None = None
        self._lazy: LazyOrder | None = None
        if getattr(order, "lazy", False):  # computed a window at a time
            self._lazy = lazy = cast("LazyOrder", order)
            self.base = start.samples // lazy.step_samples
            self.count: int = lazy.batch_count(start.samples)
        elif start.fresh:
            self._all, self.base = order.batches(start.epoch), 0
        else:  # resumed: the rest of the epoch, split for this order's ranks
            self._all, self.base = order.resume(start.epoch, start.batch, start.samples)
        if self._all is not None:
            self.count = len(self._all)

    def windows(self) -> Iterator[list[np.ndarray]]:
        """The run's batches, a window at a time (all of them at once unless :attr:`lazy`)."""
        if self._lazy is None:
            if self._all:
                yield self._all
            return
        per = max(1, WINDOW_SAMPLES // self._lazy.batch_size)
        epoch, start = self.start.epoch, self.start.samples
        for first in range(0, self.count, per):
            yield self._lazy.batch_range(epoch, start, first, first + per)

    @property
    def batches(self) -> list[np.ndarray]:
        """Every batch of the run (materialized: tests and small epochs)."""
        return [batch for window in self.windows() for batch in window]

    def position(self, delivered: int) -> Position | None:
        """Where the epoch stands after ``delivered`` batches of this run; ``None`` once the
        last one is delivered (the position is then the next epoch's start)."""
        if delivered >= self.count:
            return None
        epoch, number = self.start.epoch, self.base + delivered
        samples = self.order.consumed(epoch, self.start.samples, self.base, number)
        return Position(epoch, number, samples)


class Sampler:
    """``loader.sampler``: what Lightning and timm call ``set_epoch`` on."""

    def __init__(self, loader: Any):
        self._loader = loader

    def set_epoch(self, epoch: int) -> None:
        self._loader.set_epoch(epoch)

    def __len__(self) -> int:
        return int(self._loader._order.samples_per_rank)


def make_state(position: Position, setup: Mapping[str, Any]) -> dict[str, Any]:
    """A state dict: the position and the setup it belongs to."""
    return {
        "version": STATE_VERSION,
        "epoch": position.epoch,
        "batch": position.batch,
        "samples": position.samples,
        **setup,
    }


def check_epoch(epoch: Any) -> int:
    """``set_epoch``'s argument as an int in ``[0, 2**63)``, else :class:`LoaderStateError`."""
    if isinstance(epoch, bool) or not hasattr(epoch, "__index__"):
        raise LoaderStateError(f"epoch: expected an int >= 0, got {epoch!r}")
    value = epoch.__index__()
    if not 0 <= value < EPOCH_LIMIT:
        raise LoaderStateError(f"epoch: expected an int >= 0 and < 2**63, got {value}")
    return int(value)


def check_state(
    state: Any, mine: Mapping[str, Any], order: ResumableOrder, *, seed_drawn: bool = False
) -> Position:
    """The position to resume at; :class:`LoaderStateError` names what does not fit.

    A state whose epoch is done (``batch == len(loader)`` at the saved shape) resumes at the
    start of the next epoch.
    """
    parsed = _parse(state)
    for key in MUST_MATCH:
        _compare(key, getattr(parsed, key), mine[key], seed_drawn)
    same_shape = all(getattr(parsed, key) == mine[key] for key in SHAPE)
    if not same_shape and not order.elastic:
        for key in SHAPE:
            _compare(key, getattr(parsed, key), mine[key], False, _NOT_ELASTIC)
    step = parsed.batch_size * parsed.world_size
    samples = parsed.batch * step if parsed.samples is None else parsed.samples
    if same_shape:
        batches = len(order)
        if parsed.batch > batches:
            raise LoaderStateError(
                f"state.batch: expected an int <= {batches} (the loader's batches per epoch), "
                f"got {parsed.batch}"
            )
        if parsed.batch == batches:
            if parsed.epoch + 1 >= EPOCH_LIMIT:
                raise LoaderStateError(
                    f"state.epoch: expected an int < 2**63 - 1, got {parsed.epoch}"
                )
            return Position(parsed.epoch + 1)
        if order.elastic and parsed.batch != samples // step:
            raise LoaderStateError(
                f"state.batch: expected {samples // step} (state.samples // (batch_size * "
                f"world_size)), got {parsed.batch}"
            )
    if samples >= parsed.dataset_size:
        raise LoaderStateError(
            f"state.samples: expected an int < dataset_size={parsed.dataset_size} (an epoch in "
            f"progress), got {samples}"
        )
    return Position(parsed.epoch, parsed.batch, samples)


_NOT_ELASTIC = "this loader; a length-bucketed order resumes at the shape it was saved at"


def _compare(key: str, theirs: Any, ours: Any, seed_drawn: bool, why: str = "this loader") -> None:
    if theirs == ours:
        return
    hint = (
        " (this loader's seed was drawn from torch's generator: pass the state's seed as seed=)"
        if key == "seed" and seed_drawn
        else ""
    )
    raise LoaderStateError(f"state.{key}: expected {ours!r} ({why}), got {theirs!r}{hint}")


def _parse(state: Any) -> LoaderState:
    if not isinstance(state, Mapping):
        raise LoaderStateError(
            f"state: expected a dict from DataLoader.state_dict(), got {_short(state)}"
        )
    version = state.get("version", _MISSING)
    if version is _MISSING or type(version) is not int or version not in READABLE_VERSIONS:
        got = "nothing (the key is missing)" if version is _MISSING else _short(version)
        raise LoaderStateError(f"state.version: expected 1 or {STATE_VERSION}, got {got}")
    if version == 1 and "samples" in state:
        raise LoaderStateError("state.samples: expected no such key in a version 1 state")
    if version > 1 and state.get("samples") is None:
        got = "nothing (the key is missing)" if "samples" not in state else "None"
        raise LoaderStateError(f"state.samples: expected an int >= 0, got {got}")
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
