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

Each epoch is profiled (``loader.profile``, :mod:`~dali_pipelines.backends.profile`): it opens
at the first ``next()`` and closes when the epoch ends (or is cut short); on the consumer's
thread the runner times ``graph``/``assemble``/``transfer`` and this loop ``transfer``
(pinning), ``batch_ops``, ``contract`` and ``step`` (the consumer's time between a batch and
its next ask). Every ``next()`` is a ``torch.profiler`` range like torch's own DataLoader's.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch

from ..backends.profile import Profile
from ..errors import DaliPipelinesError
from .state import EpochRun, Position

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .dataloader import DataLoader

#: The ``torch.profiler`` range around every ``next()`` (torch names its own the same way).
NEXT_RANGE = "enumerate(DataLoader)#dali_pipelines.DataLoader.__next__"
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
                with torch.profiler.record_function(NEXT_RANGE):
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
    profile: Profile = loader.profile
    start = loader._next
    profile.start_epoch(start.epoch)
    try:
        if loader._runner is None:  # starting the executor: the first epoch's graph time
            began = time.perf_counter()
            loader._runner = loader._make_runner()
            profile.record("graph", began, time.perf_counter(), count=0)
        yield from _batches(loader, profile, start)
    finally:  # an epoch cut short (a break, an error) closes its profile too
        profile.end_epoch()


def _batches(loader: DataLoader, profile: Profile, start: Position) -> Iterator[Any]:
    assert loader._runner is not None
    clock = time.perf_counter
    epoch = start.epoch
    loader._next, loader._restored = Position(epoch + 1), False
    run = EpochRun(loader._order, start)
    loader._active = run.position(0)
    loader._checker.start_epoch(epoch)
    # A wait is the time from the loop asking for a batch to receiving it (iter() included).
    asked = clock()
    names = loader.plan.layout.names
    batches = _flow(loader, run)
    for delivered, (*values, indices) in enumerate(batches, start=1):
        if loader.pin_memory:
            began = clock()
            with profile.range("transfer"):
                values = [_each(v, _pinned) for v in values]
            profile.record("transfer", began, clock())
        if loader._batch_ops is not None:  # classic layout only: (images, labels)
            began = clock()
            with profile.range("batch_ops"):
                values = list(loader._batch_ops(*values, epoch, run.base + delivered - 1))
            profile.record("batch_ops", began, clock())
        batch: Any = dict(zip(names, values)) if loader.as_dict else tuple(values)
        began = clock()
        with profile.range("contract"):
            loader._checker(batch)
        profile.record("contract", began, clock())
        # After the last batch the position is the next epoch's start (loader._next).
        loader._active = run.position(delivered)
        profile.batch_done(len(indices))
        handed = clock()
        loader.stats.record_wait(handed - asked)
        yield batch
        asked = clock()
        profile.record("step", handed, asked)  # the consumer's own time with the batch
    loader._active = None
    _report_skips(loader, epoch)


def _flow(loader: DataLoader, run: EpochRun) -> Iterator[Any]:
    """The runner's batches of ``run``, a window at a time; each run announces the one that
    should follow (the next window, else the next epoch's first, unless the user says
    otherwise), so DALI flows on into it without draining."""
    assert loader._runner is not None
    epoch = run.start.epoch
    windows = run.windows()
    current = next(windows, None)
    while current is not None:
        ahead = next(windows, None)
        if ahead is not None:
            following = (epoch, ahead)
        else:
            after = next(EpochRun(loader._order, Position(epoch + 1)).windows(), [])
            following = (epoch + 1, after)
        yield from loader._runner.epoch(epoch, current, 0, following)
        current = ahead


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
