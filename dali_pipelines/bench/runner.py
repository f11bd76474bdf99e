"""Timing loops: an epoch of any iterable of batches, and several loaders with interleaved reps.

Nothing here knows about DALI or torch's DataLoader: a *subject* is a name plus something
iterable (anything with ``__iter__``, optionally ``__len__`` and ``set_epoch``). That keeps the
runner testable with fake iterables and lets new loaders or modes plug in as subjects.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def touch_batch(batch: Any) -> int:
    """Make sure a batch really exists and return how many samples it holds.

    Loaders may hand out lazy or asynchronous results (a DALI view, a tensor on a CUDA stream);
    reading one element of every tensor forces them, so the time counted is the time until the
    data is usable. Reading one element keeps the cost negligible against decoding a batch.
    The sample count is the first dimension of the first tensor found.
    """
    tensors = list(_tensors(batch))
    if not tensors:
        raise TypeError(f"batch: expected tensors or arrays, got {type(batch).__name__}")
    for t in tensors:
        if getattr(t, "ndim", 0) > 0 and t.shape[0] > 0:
            t.reshape(-1)[-1].item()
    first = tensors[0]
    return int(first.shape[0]) if getattr(first, "ndim", 0) > 0 else 1


def _tensors(batch: Any) -> Iterable[Any]:
    if hasattr(batch, "shape") and hasattr(batch, "reshape"):
        yield batch
    elif isinstance(batch, Mapping):
        for value in batch.values():
            yield from _tensors(value)
    elif isinstance(batch, (list, tuple)):
        for value in batch:
            yield from _tensors(value)


@dataclass
class EpochTiming:
    """One pass over a subject.

    ``wait_s[i]`` is the time the loop waited for batch ``i`` (``[0]`` includes ``iter()``);
    ``batch_s[i]`` is that wait plus the touch (in train mode, the training step).
    ``epoch`` is the number the subject's ``set_epoch`` got (None outside the runner).
    """

    images: int = 0
    batches: int = 0
    seconds: float = 0.0
    batch_s: list[float] = field(default_factory=list)
    wait_s: list[float] = field(default_factory=list)
    epoch: int | None = None

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


class Observer:
    """Callbacks of a benchmark run (progress bars, logs). The defaults do nothing."""

    def point_started(self, description: str) -> None:
        """A new configuration (a sweep point) is about to be measured."""

    def epoch_started(self, subject: str, label: str, total_batches: int | None) -> None:
        """``label`` is ``"warm-up"`` or ``"rep i/R"``; total is None for unsized iterables."""

    def batch_done(self, subject: str, images: int) -> None:
        pass

    def epoch_done(self, subject: str, label: str, timing: EpochTiming) -> None:
        pass


def time_epoch(
    iterable: Iterable[Any],
    *,
    touch: Callable[[Any], int] = touch_batch,
    on_batch: Callable[[int], None] | None = None,
) -> EpochTiming:
    """Iterate once, touching every batch. The clock includes ``iter()``: starting an epoch
    (filling a prefetch queue, waking workers) is part of what a training loop waits for."""
    timing = EpochTiming()
    clock = time.perf_counter
    last = clock()
    iterator = iter(iterable)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            break
        # The wait ends when the batch arrives; the touch (or training step) is the loop's.
        got = clock()
        count = touch(batch)
        now = clock()
        timing.wait_s.append(got - last)
        timing.batch_s.append(now - last)
        timing.images += count
        timing.batches += 1
        if on_batch is not None:
            on_batch(count)
        # Restart the clock after the callback: a progress-bar update is not the loader's time.
        last = clock()
    # The loader is charged for its waits plus the final one, for StopIteration (which may
    # join workers or drain a queue).
    timing.seconds = sum(timing.batch_s) + (clock() - last)
    return timing


@dataclass
class Subject:
    """A named thing to time. ``iterable`` is iterated once per epoch; if it has
    ``set_epoch`` it is called first, so shuffled loaders see a new order each epoch."""

    name: str
    iterable: Iterable[Any]

    def start_epoch(self, epoch: int) -> Iterable[Any]:
        set_epoch = getattr(self.iterable, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)
        return self.iterable

    def total_batches(self) -> int | None:
        try:
            return len(self.iterable)  # type: ignore[arg-type]
        except TypeError:
            return None


@dataclass
class SubjectTimings:
    warmup: list[EpochTiming] = field(default_factory=list)
    reps: list[EpochTiming] = field(default_factory=list)
    lead_in: list[EpochTiming] = field(default_factory=list)


def wait_for_idle_cpu(*, busy: float = 0.1, interval: float = 0.05, timeout: float = 10.0) -> float:
    """Wait until this process uses less than ``busy`` of a core over ``interval`` seconds (or
    ``timeout`` passes); returns the seconds waited.

    A loader may keep working after its epoch ends (DALI prefetches into its next epoch on its
    own threads); waiting for that to finish keeps it off the next subject's clock. The process
    CPU clock counts every thread of this process, DALI's C++ threads included.
    """
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        cpu, wall = time.process_time(), time.perf_counter()
        time.sleep(interval)
        if (time.process_time() - cpu) < busy * (time.perf_counter() - wall):
            break
    return time.perf_counter() - start


def run_interleaved(
    subjects: Sequence[Subject],
    *,
    reps: int,
    warmup: int = 1,
    observer: Observer | None = None,
    touch: Callable[[Any], int] = touch_batch,
    lead_in: bool = False,
    settle: Callable[[], object] | None = None,
) -> dict[str, SubjectTimings]:
    """Warm each subject up, then time ``reps`` epochs of each, interleaved.

    Rep ``r`` runs every subject once, the order rotated by ``r`` (A B, B A, A B, ...), so slow
    drift (thermal throttling, a neighbour's load, page cache) hits all subjects alike and no
    subject always runs right after the same other one.

    With ``lead_in`` each timed epoch comes right after an untimed epoch of the same subject, so
    a loader that flows from one epoch into the next (DALI) is timed in that steady state, not
    with a head start prepared while others ran. ``settle`` is called after each subject's turn
    (e.g. :func:`wait_for_idle_cpu`), so what it still does then is on nobody's clock.
    """
    if reps < 1:
        raise ValueError(f"reps: expected >= 1, got {reps}")
    if warmup < 0:
        raise ValueError(f"warmup: expected >= 0, got {warmup}")
    names = [s.name for s in subjects]
    if len(set(names)) != len(names):
        raise ValueError(f"subjects: expected unique names, got {names}")
    obs = observer or Observer()
    results = {s.name: SubjectTimings() for s in subjects}

    def one(subject: Subject, epoch: int, label: str, into: list[EpochTiming]) -> None:
        obs.epoch_started(subject.name, label, subject.total_batches())
        timing = time_epoch(
            subject.start_epoch(epoch),
            touch=touch,
            on_batch=lambda n: obs.batch_done(subject.name, n),
        )
        timing.epoch = epoch
        into.append(timing)
        obs.epoch_done(subject.name, label, timing)

    for w in range(warmup):
        for subject in subjects:
            label = "warm-up" if warmup == 1 else f"warm-up {w + 1}/{warmup}"
            one(subject, w, label, results[subject.name].warmup)
            if settle is not None:
                settle()
    # Every subject runs the same epoch numbers in a round: the same shuffled orders.
    per_round = 2 if lead_in else 1
    for r in range(reps):
        epoch = warmup + per_round * r
        shift = r % len(subjects) if subjects else 0
        for subject in list(subjects[shift:]) + list(subjects[:shift]):
            timings = results[subject.name]
            if lead_in:
                one(subject, epoch, f"lead-in {r + 1}/{reps}", timings.lead_in)
            one(subject, epoch + per_round - 1, f"rep {r + 1}/{reps}", timings.reps)
            if settle is not None:
                settle()
    return results
