"""Observers of a loader's profile, and the one object a loader (or a loop) reports to."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, Protocol, TypeVar, runtime_checkable

from rich.console import Console

from ...backends.profile import Profile, ProfileSnapshot
from .jsonl import JsonlExporter
from .live import LivePanel
from .tensorboard import TensorBoardExporter

logger = logging.getLogger(__name__)
T = TypeVar("T")


@runtime_checkable
class Observer(Protocol):
    """What the loader calls: after each batch, after each epoch, once at the end."""

    def batch_done(self, profile: Profile) -> None: ...

    def epoch_done(self, profile: Profile, snapshot: ProfileSnapshot) -> None: ...

    def close(self) -> None: ...


class Observers:
    """Several observers as one. An observer that raises is logged and dropped: watching the
    loader never stops the training."""

    def __init__(self, profile: Profile, observers: Iterable[Observer] = ()) -> None:
        self.profile = profile
        self.observers: list[Observer] = list(observers)

    def add(self, observer: Observer) -> Observer:
        self.observers.append(observer)
        return observer

    def _each(self, call: str, *args: Any) -> None:
        for observer in list(self.observers):
            try:
                getattr(observer, call)(*args)
            except Exception:
                logger.exception("observer %r failed in %s; dropped", observer, call)
                self.observers.remove(observer)

    def batch_done(self, profile: Profile | None = None) -> None:
        self._each("batch_done", profile or self.profile)

    def epoch_done(self, profile: Profile | None, snapshot: ProfileSnapshot) -> None:
        profile = profile or self.profile
        self._each("epoch_done", profile, snapshot)

    def epoch(self, batches: Iterable[T]) -> Iterator[T]:
        """One epoch of ``batches`` (the loader), reporting each batch and the epoch's end:
        for a loader that does not call the observers itself."""
        known = dict(self.profile.epochs)
        for batch in batches:
            yield batch
            self.batch_done()
        ended = [s for k, s in self.profile.epochs.items() if known.get(k) is not s]
        if ended:
            self.epoch_done(self.profile, ended[-1])

    def close(self) -> None:
        self._each("close")
        self.observers.clear()

    def __enter__(self) -> Observers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _profile_of(loader: Any) -> Profile:
    profile = loader if isinstance(loader, Profile) else getattr(loader, "profile", None)
    if not isinstance(profile, Profile):
        raise TypeError(
            "loader: expected a DataLoader with a profile or a Profile, "
            f"got {type(loader).__name__}"
        )
    return profile


def attach(
    loader: Any,
    *,
    live: bool | LivePanel = False,
    jsonl: str | os.PathLike[str] | None = None,
    tensorboard: Any = None,
    every: int = 50,
    console: Console | None = None,
) -> Observers:
    """The observers asked for, as one :class:`Observers` on ``loader.profile`` (or a Profile).

    ``live``: a :class:`LivePanel` (started here); ``jsonl``: a path for a
    :class:`JsonlExporter`; ``tensorboard``: a ``SummaryWriter`` or a log directory for a
    :class:`TensorBoardExporter`; ``every``: batches between two exported records.
    """
    profile = _profile_of(loader)
    hub = Observers(profile)
    if jsonl is not None:
        hub.add(JsonlExporter(jsonl, every=every))
    if tensorboard is not None:
        hub.add(TensorBoardExporter(tensorboard, every=every))
    if live:
        panel = live if isinstance(live, LivePanel) else LivePanel(profile, console=console)
        hub.add(panel.start())
    return hub


__all__ = ["Observer", "Observers", "attach"]
