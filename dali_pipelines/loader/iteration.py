"""One pass over a ``DataLoader``: the iterator ``iter(loader)`` returns, and who may advance it.

A loader runs one iteration at a time, like torch's single-process ``DataLoader`` whose new
``iter()`` takes over, and never hands out mixed or truncated data:

* a new ``iter(loader)`` in the thread that owns the current iteration ends it; advancing the
  ended iterator raises :class:`~dali_pipelines.errors.DaliPipelinesError` (not
  ``StopIteration``: an epoch cut short must not pass for a finished one);
* ``iter(loader)`` from another thread while an iteration owned by a live thread is unfinished
  raises :class:`~dali_pipelines.errors.DaliPipelinesError`, and so does advancing one
  iterator from two threads at once. An iterator may move between threads (the owner is the
  thread that advanced it last); an iterator that is exhausted, dropped or whose thread ended
  no longer counts.

An iteration starts at its first ``next()``, not at ``iter()``: Lightning calls ``iter()``
before ``sampler.set_epoch``, and the epoch must be the one set.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch

from ..errors import DaliPipelinesError

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .dataloader import DataLoader

ENDED = (
    "this iterator was ended by a later iter() on its DataLoader (one iteration per loader at "
    "a time, as torch's single-process DataLoader): iterate the new one"
)


class LoaderIterator:
    """The iterator ``iter(loader)`` returns (torch's ``_SingleProcessDataLoaderIter``)."""

    def __init__(self, batches: Callable[[], Iterator[Any]], length: int):
        self._make = batches
        self._batches: Iterator[Any] | None = None
        self._length = length
        self._ended = False
        self._done = False
        self._busy = threading.Lock()
        #: The thread that created or last advanced this iterator.
        self.owner = threading.current_thread()

    @property
    def live(self) -> bool:
        """Not exhausted, not failed and not ended by a later ``iter()``."""
        return not (self._done or self._ended)

    def __iter__(self) -> LoaderIterator:
        return self

    def __len__(self) -> int:
        return self._length

    def __next__(self) -> Any:
        if not self._busy.acquire(blocking=False):
            raise DaliPipelinesError(
                f"DataLoader iterator: advanced from thread {threading.current_thread().name!r} "
                f"while thread {self.owner.name!r} is advancing it: one thread at a time (build "
                "a loader per thread)"
            )
        try:
            if self._ended:
                raise DaliPipelinesError(ENDED)
            if self._done:
                raise StopIteration
            self.owner = threading.current_thread()
            if self._batches is None:
                self._batches = self._make()
            try:
                return next(self._batches)
            except BaseException:  # exhausted, or failed: the generator cannot resume either
                self._done = True
                self._batches = None
                raise
        finally:
            self._busy.release()

    def end(self) -> None:
        """End this iteration (a later ``iter()`` took over): its epoch stops here."""
        self._ended = True
        batches, self._batches = self._batches, None
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # runs the executor's cleanup: work in flight is dropped


class Iterations:
    """A loader's one live iteration: ``start()`` returns the next iterator or refuses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: weakref.ref[LoaderIterator] | None = None

    def start(self, batches: Callable[[], Iterator[Any]], length: int) -> LoaderIterator:
        me = threading.current_thread()
        with self._lock:
            current = self._current() if self._current is not None else None
            if current is not None and current.live:
                owner = current.owner
                if owner is not me and owner.is_alive():
                    raise DaliPipelinesError(
                        f"DataLoader: iter() from thread {me.name!r} while thread "
                        f"{owner.name!r} is iterating this loader: one iteration at a time per "
                        "loader (build a loader per thread, or finish or drop the other "
                        "iteration first)"
                    )
                current.end()
            iterator = LoaderIterator(batches, length)
            self._current = weakref.ref(iterator)
            return iterator


def epoch_batches(loader: DataLoader) -> Iterator[Any]:
    """The batches of the loader's next epoch, from its resume position (one iteration)."""
    if loader._runner is None:
        loader._runner = loader._make_runner()
    epoch, start = loader._epoch, loader._resume_batch
    loader._epoch, loader._resume_batch, loader._restored = epoch + 1, 0, False
    batches = loader._order.batches(epoch)
    loader._active, done = (epoch, start), start
    loader._checker.start_epoch(epoch)
    # A wait is the time from the loop asking for a batch to receiving it (iter() included).
    asked = time.perf_counter()
    names = loader.plan.layout.names
    # The epoch that follows, unless the user says otherwise: DALI may flow on into it.
    following = (epoch + 1, loader._order.batches(epoch + 1))
    for *values, _indices in loader._runner.epoch(epoch, batches, start, following):
        if loader.pin_memory:
            values = [_each(v, _pinned) for v in values]
        if loader._batch_ops is not None:  # classic layout only: (images, labels)
            values = list(loader._batch_ops(*values, epoch, done))
        batch: Any = dict(zip(names, values)) if loader.as_dict else tuple(values)
        loader._checker(batch)
        done += 1
        loader._active = (epoch, done)
        loader.stats.record_wait(time.perf_counter() - asked)
        yield batch
        asked = time.perf_counter()
    loader._active = None
    _report_skips(loader, epoch)


def _report_skips(loader: DataLoader, epoch: int) -> None:
    """One warning per epoch with skips: ``on_error="skip"`` must not lose samples silently."""
    skipped = loader.skipped.get(epoch)
    if not skipped:
        return
    due = loader._order.samples_per_rank
    log.warning(
        "%s of %s samples skipped in epoch %d (first: %s: %s); see loader.skipped",
        f"{len(skipped):,}",
        f"{due:,}",
        epoch,
        *skipped[0],
    )


def _pinned(x: torch.Tensor) -> torch.Tensor:
    return x.pin_memory() if x.device.type == "cpu" else x


def _each(value: Any, move: Any) -> Any:
    """``move`` applied to a tensor, or to every tensor of a list output."""
    return [move(x) for x in value] if isinstance(value, list) else move(value)
