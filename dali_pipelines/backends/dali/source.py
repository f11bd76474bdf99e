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

from ...data.columns import BoundSource, bind_source
from ...data.probe import probe_header
from ...data.source import SampleSource
from ...errors import SampleDecodeError
from ...ops.base import Size
from ...plan import Plan
from ...plan.layout import draw_sample, sample_rng, transform_boxes
from ..recovery import Recovery, fallback_key, placeholder_pnm

__all__ = ["BatchSource", "sample_rng"]


class BatchSource:
    """Callable for ``fn.external_source(batch=True, batch_info=True, num_outputs=...)``.

    Outputs, in order: one encoded column per image column of the plan's layout, the label
    columns (int64), the feature columns (float32 (D,)), the boxes and their classes when the
    layout has boxes, the sample indices (int64), then every column's per-step argument arrays.
    The classic layout (one image, one label) is encoded bytes, labels, indices, arguments.
    ``issued`` remembers which samples went into each DALI iteration, so an error DALI reports
    by position in a batch can be mapped back to the file.
    """

    def __init__(
        self,
        dataset: SampleSource,
        plan: Plan,
        seed: int,
        recovery: Recovery | None = None,
        max_pixels: int | None = None,
        bound: BoundSource | None = None,
    ):
        self.dataset = dataset
        self.plan = plan
        self.layout = plan.layout
        self.bound = bound if bound is not None else bind_source(dataset, plan.layout)
        self.seed = seed
        self.recovery = recovery if recovery is not None else Recovery()
        self.max_pixels = max_pixels
        self.columns = len(self.layout.images)
        self._read_first = self.bound.images[0]
        #: (image column, step index, argument name) of every argument output, in order.
        self.arg_keys = [
            (column, i, name)
            for column in range(self.columns)
            for i, step in enumerate(plan.steps)
            for name in step.arg_names
        ]
        self._lock = threading.Lock()
        self._epoch = 0
        self._batches: Sequence[np.ndarray] = ()
        self._start = 0
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
        bound = self.bound
        plan = self.plan
        seed = self.seed
        encoded: list[list[np.ndarray]] = [[] for _ in range(self.columns)]
        data: list[list[np.ndarray]] = [[] for _ in range(self.num_data)]
        ids: list[np.ndarray] = []
        args: list[list[np.ndarray]] = [[] for _ in self.arg_keys]
        keys = self.arg_keys
        labels, features, boxes = bound.labels, bound.features, bound.boxes
        single = self.layout.single

        def add(sample: list[tuple[np.ndarray, Size]], index: int) -> None:
            # The placeholder (index -1) draws like any sample; its row is dropped later.
            if single:  # the classic path: one generator through the chain, as it always was
                drawn, _ = plan.draw(sample[0][1], sample_rng(seed, epoch, max(index, 0)))
                for column, (_, step, name) in zip(args, keys):
                    column.append(drawn[step][name])
            else:
                sizes = [size for _, size in sample]
                per_column = draw_sample(plan, sizes, seed, epoch, max(index, 0))
                for column, (c, step, name) in zip(args, keys):
                    column.append(per_column[c].args[step][name])
            for column, (payload, _) in zip(encoded, sample):
                column.append(payload)
            for position, read_label in enumerate(labels):
                value = read_label(index) if index >= 0 else -1
                data[position].append(np.array(value, dtype=np.int64))
            position = len(labels)
            if features:
                for read_features in features:
                    data[position].append(self._features(read_features, index, position))
                    position += 1
            if boxes is not None:
                xyxy, classes = boxes(index) if index >= 0 else _NO_BOXES
                moved = transform_boxes(plan, xyxy, per_column[self.layout.box_image])
                data[position].append(moved)
                data[position + 1].append(np.ascontiguousarray(classes, dtype=np.int64))
            ids.append(np.array(index, dtype=np.int64))

        for raw_index in indices:
            index = int(raw_index)
            sample = self._checked(index, epoch)
            if sample is not None:
                add(sample, index)
        if not ids:  # every sample skipped: DALI cannot run an empty batch
            placeholder = placeholder_pnm(self.plan.decoded.channels)
            add([(placeholder, (1, 1))] * self.columns, -1)
        return [*encoded, *data, ids, *args]

    def _features(self, read: Any, index: int, position: int) -> np.ndarray:
        if index >= 0:
            return np.asarray(read(index), dtype=np.float32)
        width = len(self.layout.features[position - len(self.layout.labels)].columns)
        return np.zeros(width, dtype=np.float32)

    def _checked(self, index: int, epoch: int) -> list[tuple[np.ndarray, Size]] | None:
        """Each image column's bytes and size, or ``None`` when the sample is skipped."""
        recovery = self.recovery
        if index in recovery.quarantine:
            path = self.bound.path(index)
            recovery.skip(epoch, index, path, recovery.quarantine[index])
            return None
        if self.columns == 1:  # the classic sample: no loop
            checked = self._column(index, 0, self._read_first, epoch)
            return None if checked is None else [checked]
        out = []
        for column, read in enumerate(self.bound.images):
            checked = self._column(index, column, read, epoch)
            if checked is None:
                return None
            out.append(checked)
        return out

    def _column(
        self, index: int, column: int, read: Any, epoch: int
    ) -> tuple[np.ndarray, Size] | None:
        recovery = self.recovery
        try:
            data = read(index)
        except OSError as exc:
            self._bad(index, column, epoch, f"cannot read the file: {exc}", exc)
            return None
        if fallback_key(index, column) in recovery.fallback:
            data = recovery.pnm(data)
        try:
            header = probe_header(data)
        except Exception as exc:  # PIL raises many types; all mean "not an image we can read"
            reason = "empty file" if len(data) == 0 else f"not a readable image: {exc}"
            self._bad(index, column, epoch, reason, exc)
            return None
        if self.max_pixels is not None and header.pixels > self.max_pixels:
            reason = (
                f"too many pixels: {header.width}x{header.height} = {header.pixels} "
                f"> max_pixels={self.max_pixels}"
            )
            self._bad(index, column, epoch, reason, None)
            return None
        return data, header.size

    def _bad(
        self, index: int, column: int, epoch: int, reason: str, cause: BaseException | None
    ) -> None:
        """Record the skip (on_error="skip") or raise naming the file."""
        path = self.bound.path(index, column)
        if self.recovery.on_error == "skip":
            self.recovery.skip(epoch, index, path, reason)
            return
        raise SampleDecodeError(f"sample {index} ({path}): {reason}", path=path, index=index) from (
            cause
        )


_NO_BOXES = (np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=np.int64))
