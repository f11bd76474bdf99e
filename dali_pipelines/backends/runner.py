"""The execution core: one runner protocol and the one epoch loop every executor runs under.

An **executor** turns a run of batches (lists of sample indices) into :class:`RawBatch` es:
DALI (``dali/executor.py``), DALI + Python stages in workers (``hybrid/executor.py``), the
torch reference (``reference/executor.py``). It prepares samples with the shared
:class:`~.feed.SampleFeed` (reads, guards, seed policy) and hands unusable ones to
:meth:`Recovery.bad`. It owns nothing else.

The **runner** owns the epoch: it slices the order at the resume position, leaves quarantined
samples out (reporting them again), maps failures (a decode failure is recovered or raised
naming the file; a Python stage failure raised naming op, sample and file), restarts the
executor after a recoverable failure at the failed batch (order and draws are pure functions of
(seed, epoch, index), so nothing else changes), and assembles every batch with the one
:class:`~.assemble.Assembler`. A new executor passes tests/backends/test_conformance.py.

It also times the consumer's side of the executor into the loader's profile: ``graph`` is
the time blocked in the executor's ``next()`` (DALI's outputs, the reference's or the Python
workers' results), ``assemble`` the conversion to tensors, ``transfer`` the device copy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np
import torch

from ..errors import DaliPipelinesError, SampleDecodeError
from ..ops.python.stage import StageFailure, failure_error
from ..plan import Plan
from .assemble import Assembler, RawBatch
from .feed import BadSample, SampleFeed
from .profile import Profile
from .recovery import Recovery, fallback_key

#: The layout's slot values in order, then the delivered sample indices.
Batch = tuple[Any, ...]
#: An epoch and its batches (sample indices), as the runner hands them to an executor.
Run = tuple[int, Sequence[np.ndarray]]


class BatchFailure(Exception):
    """An executor could not finish a batch because a sample failed to decode.

    ``done``: batches of this run delivered before it; ``candidates``: the failed batch's
    samples; ``reason``: what the executor's engine said. After raising it the executor must be
    usable again (a DALI executor rebuilds its pipeline on the next run).
    """

    def __init__(self, done: int, candidates: Sequence[int], reason: str):
        super().__init__(reason)
        self.done = done
        self.candidates = list(candidates)
        self.reason = reason


class Executor(Protocol):
    """What an executor offers the runner."""

    feed: SampleFeed

    def run(
        self, epoch: int, batches: Sequence[np.ndarray], following: Run | None = None
    ) -> Iterator[RawBatch]:
        """Every batch of ``batches`` in order; may raise :class:`BatchFailure` or
        :class:`StageFailure`. Abandoning the iterator must leave the executor reusable.
        ``following``: the run the loader expects next, which an executor may start preparing
        (it must still serve any other run asked for next)."""
        ...

    def decode_failure(self, data: np.ndarray) -> str | None:
        """``None`` when the executor's decoder reads ``data``; otherwise why not."""
        ...

    def close(self) -> None: ...


class Runner:
    """``epoch(epoch, batches, start)`` yields the batches of one epoch from ``start``."""

    def __init__(
        self, executor: Executor, plan: Plan, recovery: Recovery, device: torch.device | None
    ):
        self.executor = executor
        self.plan = plan
        self.recovery = recovery
        self.assemble = Assembler(plan, device)
        self.bound = executor.feed.bound
        #: The loader's profile: the executor's feed records into the same one.
        self.profile: Profile = executor.feed.profile
        self._read_ahead = getattr(self.bound.dataset, "prepare_epoch", None)
        #: A source that reads ahead on its own (object storage): told the batches to come,
        #: the announced next epoch's included, while the executor flows on across epochs.
        self._plan_reads = getattr(self.bound.dataset, "plan_reads", None)

    def epoch(
        self,
        epoch: int,
        batches: Sequence[np.ndarray],
        start: int = 0,
        following: Run | None = None,
    ) -> Iterator[Batch]:
        """The batches of ``epoch`` from ``start``; ``following``: the epoch expected next."""
        position = start
        while position < len(batches):
            run = [self._unquarantined(batch, epoch) for batch in batches[position:]]
            ahead = None
            if self._read_ahead is not None:  # a Python source (EncodedDataset) reads ahead
                self._read_ahead(run, 0)  # ... of this run only: no flowing into the next
            elif following is not None:
                after, after_batches = following
                ahead = (
                    after,
                    [self._unquarantined(b, after, record=False) for b in after_batches],
                )
            if self._plan_reads is not None:
                self._plan_reads([*run, *(ahead[1] if ahead is not None else ())])
            try:
                yield from self._timed(epoch, self.executor.run(epoch, run, ahead))
                return
            except BatchFailure as failure:
                self._recover(failure, epoch)
                position += failure.done  # re-run the failed batch, now recovered
            except StageFailure as failure:
                raise self._stage_error(failure)  # noqa: B904 (chained by failure_error)

    def _timed(self, epoch: int, raws: Iterator[RawBatch]) -> Iterator[Batch]:
        """The executor's batches assembled, each stage timed (per batch: stamps; profiler
        ranges and spans only when the profile is detailed)."""
        profile, clock = self.profile, time.perf_counter
        try:
            while True:
                start = clock()
                with profile.range("graph"):
                    raw = next(raws, None)
                profile.record("graph", start, clock(), count=0 if raw is None else 1)
                if raw is None:
                    return
                start = clock()
                with profile.range("assemble"):
                    for bad in raw.bad:  # raises naming the file, or records the skip
                        self.recovery.bad(epoch, bad)
                    values, indices = self.assemble.values(raw)
                profile.record("assemble", start, clock())
                if self.assemble.device is not None:
                    start = clock()
                    with profile.range("transfer"):
                        values = self.assemble.to_device(values)
                    profile.record("transfer", start, clock())
                yield (*values, indices)
        finally:
            close = getattr(raws, "close", None)
            if close is not None:  # a break: the executor's cleanup runs now
                close()

    def _unquarantined(self, batch: np.ndarray, epoch: int, record: bool = True) -> np.ndarray:
        """Quarantined samples are reported again (``record``) but never decoded again."""
        quarantine = self.recovery.quarantine
        if not quarantine:
            return batch
        keep = []
        for raw in batch:
            index = int(raw)
            reason = quarantine.get(index)
            if reason is None:
                keep.append(index)
            elif record:
                self.recovery.skip(epoch, index, self.bound.path(index), reason)
        return np.asarray(keep, dtype=np.int64)

    def _stage_error(self, failure: StageFailure) -> BaseException:
        """A ``PythonStageError`` naming op, sample and file (an interrupt: itself, noted)."""
        index = failure.index
        path = self.bound.path(index) if index is not None and index >= 0 else None
        return failure_error(failure, path)

    def _recover(self, failure: BatchFailure, epoch: int) -> None:
        """Find the samples the decoder failed on; raise, or record fallbacks/skips."""
        culprits = [
            bad
            for index in failure.candidates
            if index >= 0 and index not in self.recovery.quarantine
            for bad in self._failures(index)
        ]
        if not culprits:
            raise DaliPipelinesError(f"DALI pipeline failed: {failure.reason}") from failure
        if self.recovery.on_error == "raise":
            bad = culprits[0]
            raise SampleDecodeError(
                f"sample {bad.index} ({bad.path}): DALI cannot decode it: {bad.reason}",
                path=bad.path,
                index=bad.index,
            ) from failure
        for bad in culprits:
            if self.plan.audio:  # no second decoder for audio: the file is skipped
                self.recovery.skip(epoch, bad.index, bad.path, f"DALI: {bad.reason}")
                continue
            data = self.bound.images[bad.column](bad.index)
            pil_failure = self.recovery.pil_reason(data)
            if pil_failure is None:
                self.recovery.fallback.add(fallback_key(bad.index, bad.column))
                reason = f"DALI: {bad.reason}; decoded by PIL"
                self.recovery.note_fallback(epoch, bad.index, bad.path, reason)
            else:
                reason = f"DALI: {bad.reason}; PIL: {pil_failure}"
                self.recovery.skip(epoch, bad.index, bad.path, reason)

    def _failures(self, index: int) -> list[BadSample]:
        out = []
        for column, read in enumerate(self.bound.images):
            if self.bound.encoding(column) == "npy":  # raw pixels: nothing was decoded
                continue
            data = read(index)
            if fallback_key(index, column) in self.recovery.fallback:
                data = self.recovery.pnm(data)
            why = self.executor.decode_failure(data)
            if why is not None:
                out.append(BadSample(index, column, self.bound.path(index, column), why))
        return out

    def close(self) -> None:
        self.executor.close()
