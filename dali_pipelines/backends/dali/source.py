"""The external-source callback: the loader's sample order and per-sample parameters, fed to DALI.

One pipeline serves every epoch. DALI calls the source with a ``BatchInfo`` (iteration within
DALI's epoch); the source maps that to the loader's own epoch and batch (which may start
mid-epoch after a resume), reads the files' bytes, probes each header for its size and draws
every op's parameters from a generator seeded by (seed, epoch, sample index). It raises
``StopIteration`` at the end of the epoch, which ends DALI's epoch too.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...data.probe import probe_header
from ...data.source import SampleSource
from ...errors import SampleDecodeError
from ...plan import Plan


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of one sample's augmentation parameters: a pure function of its triple."""
    return np.random.default_rng((seed, epoch, index))


class BatchSource:
    """Callable for ``fn.external_source(batch=True, batch_info=True, num_outputs=...)``.

    Outputs, in order: encoded bytes, labels (int64), sample indices (int64), then every plan
    step's argument arrays. ``issued`` remembers which samples went into each DALI iteration, so
    an error DALI reports by position in a batch can be mapped back to the file.
    """

    def __init__(self, dataset: SampleSource, plan: Plan, seed: int):
        self.dataset = dataset
        self.plan = plan
        self.seed = seed
        self.arg_keys = [(i, name) for i, step in enumerate(plan.steps) for name in step.arg_names]
        self._lock = threading.Lock()
        self._epoch = 0
        self._batches: Sequence[np.ndarray] = ()
        self._start = 0
        self._stop = False
        self.issued: dict[int, np.ndarray] = {}

    @property
    def num_outputs(self) -> int:
        return 3 + len(self.arg_keys)

    def start_epoch(self, epoch: int, batches: Sequence[np.ndarray], start_batch: int = 0) -> None:
        with self._lock:
            self._epoch = epoch
            self._batches = batches
            self._start = start_batch
            self._stop = False
            self.issued = {}

    def stop(self) -> None:
        """End the current epoch early: the next call raises StopIteration."""
        with self._lock:
            self._stop = True

    def __call__(self, info: Any) -> list[list[np.ndarray]]:
        with self._lock:
            position = self._start + int(info.iteration)
            if self._stop or position >= len(self._batches):
                raise StopIteration
            indices = self._batches[position]
            epoch = self._epoch
            self.issued[int(info.iteration)] = indices
        return self.make_batch(indices, epoch)

    def make_batch(self, indices: np.ndarray, epoch: int) -> list[list[np.ndarray]]:
        encoded: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        ids: list[np.ndarray] = []
        columns: list[list[np.ndarray]] = [[] for _ in self.arg_keys]
        for raw_index in indices:
            index = int(raw_index)
            data = self.dataset.read_bytes(index)
            size = self._size(data, index)
            drawn, _ = self.plan.draw(size, sample_rng(self.seed, epoch, index))
            for column, (step, name) in zip(columns, self.arg_keys):
                column.append(drawn[step][name])
            encoded.append(data)
            labels.append(np.array(self.dataset.label(index), dtype=np.int64))
            ids.append(np.array(index, dtype=np.int64))
        return [encoded, labels, ids, *columns]

    def _size(self, data: np.ndarray, index: int) -> tuple[int, int]:
        try:
            return probe_header(data).size
        except Exception as exc:  # PIL raises many types; all mean "not an image we can read"
            path = self.dataset.path(index)
            raise SampleDecodeError(
                f"sample {index} ({path}): cannot read the image header: {exc}",
                path=path,
                index=index,
            ) from exc
