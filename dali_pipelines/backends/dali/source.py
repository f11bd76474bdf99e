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
from ..recovery import Recovery, placeholder_pnm


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of one sample's augmentation parameters: a pure function of its triple."""
    return np.random.default_rng((seed, epoch, index))


class BatchSource:
    """Callable for ``fn.external_source(batch=True, batch_info=True, num_outputs=...)``.

    Outputs, in order: encoded bytes, labels (int64), sample indices (int64), then every plan
    step's argument arrays. ``issued`` remembers which samples went into each DALI iteration, so
    an error DALI reports by position in a batch can be mapped back to the file.
    """

    def __init__(
        self,
        dataset: SampleSource,
        plan: Plan,
        seed: int,
        recovery: Recovery | None = None,
        max_pixels: int | None = None,
    ):
        self.dataset = dataset
        self.plan = plan
        self.seed = seed
        self.recovery = recovery if recovery is not None else Recovery()
        self.max_pixels = max_pixels
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

        def add(data: np.ndarray, size: tuple[int, int], index: int, label: int) -> None:
            # The placeholder (index -1) draws like any sample; its row is dropped later.
            drawn, _ = self.plan.draw(size, sample_rng(self.seed, epoch, max(index, 0)))
            for column, (step, name) in zip(columns, self.arg_keys):
                column.append(drawn[step][name])
            encoded.append(data)
            labels.append(np.array(label, dtype=np.int64))
            ids.append(np.array(index, dtype=np.int64))

        for raw_index in indices:
            index = int(raw_index)
            sample = self._checked(index, epoch)
            if sample is not None:
                add(*sample, index, self.dataset.label(index))
        if not encoded:  # every sample skipped: DALI cannot run an empty batch
            add(placeholder_pnm(self.plan.decoded.channels), (1, 1), -1, -1)
        return [encoded, labels, ids, *columns]

    def _checked(self, index: int, epoch: int) -> tuple[np.ndarray, tuple[int, int]] | None:
        """The sample's bytes and size, or ``None`` when it is skipped (on_error="skip")."""
        recovery = self.recovery
        if index in recovery.quarantine:
            path = self.dataset.path(index)
            recovery.skip(epoch, index, path, recovery.quarantine[index])
            return None
        try:
            data = self.dataset.read_bytes(index)
        except OSError as exc:
            return self._bad(index, epoch, f"cannot read the file: {exc}", exc)
        if index in recovery.fallback:
            data = recovery.pnm(data)
        try:
            header = probe_header(data)
        except Exception as exc:  # PIL raises many types; all mean "not an image we can read"
            reason = "empty file" if len(data) == 0 else f"not a readable image: {exc}"
            return self._bad(index, epoch, reason, exc)
        if self.max_pixels is not None and header.pixels > self.max_pixels:
            reason = (
                f"too many pixels: {header.width}x{header.height} = {header.pixels} "
                f"> max_pixels={self.max_pixels}"
            )
            return self._bad(index, epoch, reason, None)
        return data, header.size

    def _bad(self, index: int, epoch: int, reason: str, cause: BaseException | None) -> None:
        path = self.dataset.path(index)
        if self.recovery.on_error == "skip":
            self.recovery.skip(epoch, index, path, reason)
            return None
        raise SampleDecodeError(f"sample {index} ({path}): {reason}", path=path, index=index) from (
            cause
        )
