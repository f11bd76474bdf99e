"""The external-source callback: the runner's batches, prepared by the feed, packed for DALI.

One pipeline serves every epoch. DALI calls the source with a ``BatchInfo`` (iteration within
DALI's epoch); the source maps it to the run's batch, prepares each sample with the shared
:class:`~..feed.SampleFeed` (read, guards, draws) and packs the results: encoded bytes as a
list (their lengths differ), everything of uniform shape as one array per output, which DALI
takes as a whole batch (a list of per-sample arrays costs a conversion per sample). It raises
``StopIteration`` at the end of the run, which ends DALI's epoch too.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from ...plan import Plan
from ..feed import BadSample, Prepared, SampleFeed
from ..recovery import placeholder_pnm


class BatchSource:
    """Callable for ``fn.external_source(batch=True, batch_info=True, num_outputs=...)``.

    Outputs, in order: one encoded column per image column of the plan's layout, the label
    columns (int64), the feature columns (float32 (D,)), the boxes and their classes when the
    layout has boxes, the sample indices (int64), then every column's per-step argument arrays.
    ``issued`` remembers which samples went into each DALI iteration, so a failure DALI reports
    for an iteration can be mapped back to the files.
    """

    def __init__(self, feed: SampleFeed, plan: Plan, depth: int = 2):
        self.feed = feed
        self.plan = plan
        self.layout = plan.layout
        self.columns = len(self.layout.images)
        #: (image column, step index, argument name) of every argument output, in order.
        self.arg_keys = [
            (column, i, name)
            for column in range(self.columns)
            for i, step in enumerate(plan.steps)
            for name in step.arg_names
        ]
        self._placeholder = placeholder_pnm(plan.decoded.channels)
        self._lock = threading.Lock()
        self._epoch = 0
        self._batches: Sequence[np.ndarray] = ()
        self._stop = False
        self.issued: dict[int, np.ndarray] = {}
        #: Batches read ahead on a thread while DALI works (file reads release the GIL), so
        #: DALI's call for the next batch finds its inputs ready.
        self.depth = depth
        self._ahead: dict[int, Future[tuple[list[Prepared], list[BadSample]]]] = {}
        self._threads: ThreadPoolExecutor | None = None
        #: DALI takes the packed inputs without copying them (``no_copy``): they must live
        #: until the iterations in flight that read them have run.
        self._alive: deque[list[Any]] = deque(maxlen=depth + 2)

    @property
    def num_data(self) -> int:
        """Outputs between the encoded columns and the indices: labels, features, boxes."""
        layout = self.layout
        return len(layout.labels) + len(layout.features) + (2 if layout.boxes else 0)

    @property
    def num_outputs(self) -> int:
        return self.columns + self.num_data + 1 + len(self.arg_keys)

    def start(self, epoch: int, batches: Sequence[np.ndarray]) -> None:
        with self._lock:
            self._cancel()
            self._epoch = epoch
            self._batches = batches
            self._stop = False
            self.issued = {}

    def stop(self) -> None:
        """End the current run early: the next call raises StopIteration."""
        with self._lock:
            self._stop = True
            self._cancel()

    def __call__(self, info: Any) -> list[Any]:
        with self._lock:
            iteration = int(info.iteration)
            if self._stop or iteration >= len(self._batches):
                raise StopIteration
            indices = self.issued[iteration] = self._batches[iteration]
            epoch = self._epoch
            ready = self._ahead.pop(iteration, None)
            if ready is None:  # a run's first batch: read on the feed thread too (one reader)
                ready = self._pool().submit(self.prepare, indices, epoch)
            for ahead in range(iteration + 1, min(iteration + 1 + self.depth, len(self._batches))):
                if ahead not in self._ahead:
                    self._ahead[ahead] = self._pool().submit(
                        self.prepare, self._batches[ahead], epoch
                    )
        samples, bad = ready.result()
        for sample in bad:  # recorded (or raised) when DALI takes the batch, not when read ahead
            self.feed.recovery.bad(epoch, sample)
        if not samples:  # every sample skipped: DALI cannot run an empty batch
            samples.append(self.feed.placeholder(epoch, self._placeholder))
        packed = self.pack(samples)
        self._alive.append(packed)
        return packed

    def prepare(self, indices: np.ndarray, epoch: int) -> tuple[list[Prepared], list[BadSample]]:
        """Read, guard and draw the samples of one batch (on the read-ahead thread)."""
        samples: list[Prepared] = []
        bad: list[BadSample] = []
        for raw in indices.tolist():
            sample = self.feed.prepare(raw, epoch)
            (samples if isinstance(sample, Prepared) else bad).append(sample)  # type: ignore[arg-type]
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
        encoded = [[s.encoded[c] for s in samples] for c in range(self.columns)]
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
            np.stack([s.drawn[column].args[step][name] for s in samples])
            for column, step, name in self.arg_keys
        ]
        return [*encoded, *data, ids, *args]
