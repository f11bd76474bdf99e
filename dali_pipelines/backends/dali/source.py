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
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...plan import Plan
from ..feed import Prepared, SampleFeed
from ..recovery import placeholder_pnm


class BatchSource:
    """Callable for ``fn.external_source(batch=True, batch_info=True, num_outputs=...)``.

    Outputs, in order: one encoded column per image column of the plan's layout, the label
    columns (int64), the feature columns (float32 (D,)), the boxes and their classes when the
    layout has boxes, the sample indices (int64), then every column's per-step argument arrays.
    ``issued`` remembers which samples went into each DALI iteration, so a failure DALI reports
    for an iteration can be mapped back to the files.
    """

    def __init__(self, feed: SampleFeed, plan: Plan):
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
            self._epoch = epoch
            self._batches = batches
            self._stop = False
            self.issued = {}

    def stop(self) -> None:
        """End the current run early: the next call raises StopIteration."""
        with self._lock:
            self._stop = True

    def __call__(self, info: Any) -> list[Any]:
        with self._lock:
            iteration = int(info.iteration)
            if self._stop or iteration >= len(self._batches):
                raise StopIteration
            indices = self._batches[iteration]
            epoch = self._epoch
            self.issued[iteration] = indices
        return self.pack(self.prepare(indices, epoch))

    def prepare(self, indices: np.ndarray, epoch: int) -> list[Prepared]:
        feed, recovery = self.feed, self.feed.recovery
        samples = []
        for raw in indices.tolist():
            sample = feed.prepare(raw, epoch)
            if isinstance(sample, Prepared):
                samples.append(sample)
            else:
                recovery.bad(epoch, sample)  # raises naming the file, or records the skip
        if not samples:  # every sample skipped: DALI cannot run an empty batch
            samples.append(feed.placeholder(epoch, self._placeholder))
        return samples

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
