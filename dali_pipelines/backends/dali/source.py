"""The external-source callback: the runner's batches, prepared by the feed, packed for DALI.

One pipeline serves every epoch. DALI calls the source with a ``BatchInfo`` whose iteration
counts from the pipeline's start; the source maps it to a batch of the runs it was given, in
order: the current run and, when the loader announced it, the next epoch's run, so DALI's
prefetching flows across the epoch boundary instead of draining the pipeline at every epoch
end (measured here: a source that stops each epoch ran at 0.90 of ``readers.file``, one that
flows on at 1.04). Past the last known batch it raises ``StopIteration``.

Each batch is prepared on one read-ahead thread with the shared :class:`~..feed.SampleFeed`
(read, guards, draws) while DALI works, and packed: encoded bytes as a list (their lengths
differ), everything of uniform shape as one array per output, which DALI takes as a whole
batch without copying it (``no_copy``; the source keeps it alive while in flight). Unusable
samples are not raised here: they travel with their iteration (:meth:`BatchSource.bad_of`) to
the runner, which reports them when it receives that batch.

Packing is timed as the profile's ``pack`` stage (on DALI's thread), and the read-ahead's depth
(batches already prepared when DALI asks for the next) is sampled per request as the
``read_ahead`` queue.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from ...plan import Plan
from ..feed import BadSample, Prepared, SampleFeed
from ..recovery import placeholder_pnm, placeholder_wav
from .audio_graph import DECODE_ARGS, decode_args

Ready = tuple[list[Prepared], list[BadSample]]


class BatchSource:
    """Callable for ``fn.external_source(batch=True, batch_info=True, num_outputs=...)``.

    Outputs, in order: one encoded column per image column of the plan's layout, the label
    columns (int64), the feature columns (float32 (D,)), the boxes and their classes when the
    layout has boxes, the sample indices (int64), then every column's per-step argument arrays.
    ``issued`` remembers which samples went into each DALI iteration, so a failure DALI reports
    for an iteration can be mapped back to the files.
    """

    def __init__(
        self,
        feed: SampleFeed,
        plan: Plan,
        depth: int = 2,
        used: Callable[[int], tuple[str, ...]] | None = None,
    ):
        self.feed = feed
        self.plan = plan
        self.layout = plan.layout
        self.columns = len(self.layout.images)
        #: (image column, step index, argument name) of every argument output, in order (only
        #: those the graph reads: ``used(step index)``, by default every drawn argument).
        used = used if used is not None else (lambda i: plan.steps[i].arg_names)
        self.arg_keys = [
            (column, i, name)
            for column in range(self.columns)
            for i in range(len(plan.steps))
            for name in used(i)
        ]
        audio = plan.spec.audio
        #: Per-sample inputs of the decode's anti-aliased resampling (audio): after the args.
        self.decode_keys: tuple[str, ...] = DECODE_ARGS if audio and audio.antialias else ()
        self._placeholder = (
            placeholder_pnm(plan.decoded.channels)
            if audio is None
            else placeholder_wav(audio.sample_rate, audio.out_channels)
        )
        self._lock = threading.Lock()
        #: DALI iteration -> (epoch, samples): the batches given and not yet released, in order.
        self._schedule: dict[int, tuple[int, np.ndarray]] = {}
        self._end = 0  # the iteration after the last batch given
        self._stop = False
        self.issued: dict[int, np.ndarray] = {}
        self._bad: dict[int, list[BadSample]] = {}
        self.depth = depth
        self._ahead: dict[int, Future[Ready]] = {}
        self._threads: ThreadPoolExecutor | None = None
        #: DALI takes the packed inputs without copying them (``no_copy``): they must live
        #: until the iterations in flight that read them have run.
        self._alive: deque[list[Any]] = deque(maxlen=depth + 2)

    @property
    def raw_columns(self) -> tuple[bool, ...]:
        """Per image column: its samples are raw HWC pixels (npy), not bytes to decode."""
        return tuple(self.feed.bound.encoding(c) == "npy" for c in range(self.columns))

    @property
    def num_data(self) -> int:
        """Outputs between the encoded columns and the indices: labels, features, boxes."""
        layout = self.layout
        return len(layout.labels) + len(layout.features) + (2 if layout.boxes else 0)

    @property
    def num_outputs(self) -> int:
        return self.columns + self.num_data + 1 + len(self.arg_keys) + len(self.decode_keys)

    def start(self, epoch: int, batches: Sequence[np.ndarray]) -> None:
        """A fresh pipeline (DALI's iterations count from 0) serving ``batches`` first."""
        with self._lock:
            self._cancel()
            self._schedule, self._end = {}, 0
            self._stop = False
            self.issued, self._bad = {}, {}
        self.extend(epoch, batches)

    def extend(self, epoch: int, batches: Sequence[np.ndarray]) -> None:
        """Serve ``batches`` after those already scheduled (the next epoch, announced)."""
        with self._lock:
            for batch in batches:
                self._schedule[self._end] = (epoch, batch)
                self._end += 1

    def stop(self) -> None:
        """End the stream early: the next call raises StopIteration."""
        with self._lock:
            self._stop = True
            self._cancel()

    def release(self, iteration: int) -> list[BadSample]:
        """Forget DALI iteration ``iteration`` (its outputs were received); the unusable samples
        left out of it, for the runner to report."""
        with self._lock:
            self._schedule.pop(iteration, None)
            self.issued.pop(iteration, None)
            return self._bad.pop(iteration, [])

    def __call__(self, info: Any) -> list[Any]:
        with self._lock:
            iteration = int(info.iteration)
            if self._stop or iteration >= self._end:
                raise StopIteration
            epoch, indices = self._schedule[iteration]
            # Batches prepared and waiting when DALI asks (0: DALI waits on the reader).
            ahead_depth = sum(1 for f in self._ahead.values() if f.done())
            ready = self._ahead.pop(iteration, None)
            if ready is None:  # a stream's first batch: read on the feed thread too (one reader)
                ready = self._pool().submit(self.prepare, indices, epoch)
            for ahead in range(iteration + 1, min(iteration + 1 + self.depth, self._end)):
                if ahead not in self._ahead:
                    ahead_epoch, ahead_indices = self._schedule[ahead]
                    self._ahead[ahead] = self._pool().submit(
                        self.prepare, ahead_indices, ahead_epoch
                    )
        profile = self.feed.profile
        profile.queue("read_ahead", ahead_depth)
        samples, bad = ready.result()
        # What DALI decodes in this iteration (a failure is searched for among these only).
        self.issued[iteration] = np.array([s.index for s in samples], dtype=np.int64)
        if bad:
            self._bad[iteration] = bad
        if not samples:  # every sample skipped: DALI cannot run an empty batch
            samples.append(self.feed.placeholder(epoch, self._placeholder))
        start = time.perf_counter()
        packed = self.pack(samples)
        profile.record("pack", start, time.perf_counter(), count=len(samples))
        self._alive.append(packed)
        return packed

    def prepare(self, indices: np.ndarray, epoch: int) -> Ready:
        """Read, guard and draw the samples of one batch (on the read-ahead thread)."""
        samples: list[Prepared] = []
        bad: list[BadSample] = []
        for raw in indices.tolist():
            sample = self.feed.prepare(raw, epoch)
            if isinstance(sample, Prepared):
                samples.append(sample)
            else:
                bad.append(sample)
        return samples, bad

    def _pool(self) -> ThreadPoolExecutor:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(1, thread_name_prefix="dali-pipelines-feed")
        return self._threads

    def _cancel(self) -> None:
        pending = list(self._ahead.values())
        for future in pending:
            future.cancel()
        self._ahead.clear()
        # A read in progress finishes before the dataset sees another run (a source such as
        # EncodedDataset is read from one thread at a time).
        wait(pending)

    def close(self) -> None:
        with self._lock:
            self._cancel()
            if self._threads is not None:
                self._threads.shutdown(wait=True, cancel_futures=True)
                self._threads = None

    def pack(self, samples: list[Prepared]) -> list[Any]:
        layout = self.layout
        # Raw pixels of one size go as one dense (N, H, W, C) array (one copy, no per-sample
        # tensors); bytes and mixed sizes as a list.
        encoded = [
            _batch([s.encoded[c] for s in samples]) if raw else [s.encoded[c] for s in samples]
            for c, raw in enumerate(self.raw_columns)
        ]
        data: list[Any] = [
            np.array([s.labels[k] for s in samples], dtype=np.int64)
            for k in range(len(layout.labels))
        ]
        data += [np.stack([s.features[k] for s in samples]) for k in range(len(layout.features))]
        if layout.boxes is not None:
            data.append([s.boxes[0] for s in samples if s.boxes is not None])
            data.append([s.boxes[1] for s in samples if s.boxes is not None])
        ids = np.array([s.index for s in samples], dtype=np.int64)
        args = [
            _batch([s.drawn[column].args[step][name] for s in samples])
            for column, step, name in self.arg_keys
        ]
        if self.decode_keys:
            rate = self.plan.decoded.sample_rate
            per_sample = [decode_args(s.native[0], rate) for s in samples]
            args += [_batch([a[key] for a in per_sample]) for key in self.decode_keys]
        return [*encoded, *data, ids, *args]


def _batch(arrays: list[np.ndarray]) -> Any:
    """One array for DALI to take whole when every sample's has the same shape; otherwise the
    list (an audio op's per-sample noise follows each sample's length)."""
    shape = arrays[0].shape
    if all(a.shape == shape for a in arrays):
        return np.stack(arrays)
    return [np.ascontiguousarray(a) for a in arrays]
