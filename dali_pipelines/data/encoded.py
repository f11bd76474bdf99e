"""Pre-decode Python: a map-style torch ``Dataset`` returning encoded bytes, as the loader's source.

``EncodedDataset(dataset)`` plugs a user's dataset (custom file selection, label logic, a
database or an archive) into the loader: its ``__getitem__`` runs in forked worker processes,
ahead of need, in the loader's order; DALI then decodes and augments. ``__getitem__`` may
return the encoded image alone, ``(image, label, *meta)`` or a dict with ``image`` (or
``data``/``bytes``), ``label`` (or ``target``) and any metadata; the image is ``bytes``, a
1-D uint8 numpy array or tensor (``torchvision.io.read_file``). A ``path``/``file`` entry of the
metadata names the sample in errors. Metadata stays here (``meta(index)``); batches carry
images and labels.

The loader calls ``prepare_epoch(batches, start)`` before each epoch, which queues the epoch's
samples; ``prefetch`` batches are in the workers at any time. An exception in ``__getitem__``
surfaces as :class:`~dali_pipelines.errors.PythonStageError` naming the sample (with the
worker's traceback chained); a worker that dies is reported as soon as the pool notices.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import traceback
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from ..errors import DatasetError, PythonStageError
from ..fork_guard import fork_guard
from ..ops.python.stage import RemoteTraceback

Item = tuple[np.ndarray, int, dict[str, Any]]
OP = "dataset.__getitem__"


def unpack(value: Any, index: int) -> Item:
    """One ``__getitem__`` result as (encoded uint8 array, label, metadata)."""
    meta: dict[str, Any] = {}
    label: Any = 0
    if isinstance(value, dict):
        data = next((value[k] for k in ("image", "data", "bytes") if k in value), None)
        label = next((value[k] for k in ("label", "target") if k in value), 0)
        skip = {"image", "data", "bytes", "label", "target"}
        meta = {k: v for k, v in value.items() if k not in skip}
    elif isinstance(value, tuple | list):
        data, label = value[0], value[1] if len(value) > 1 else 0
        if len(value) > 2:
            meta = value[2] if isinstance(value[2], dict) else {"meta": value[2:]}
    else:
        data = value
    return _encoded(data, index), int(label), meta


def _encoded(data: Any, index: int) -> np.ndarray:
    if isinstance(data, bytes | bytearray | memoryview):
        return np.frombuffer(data, dtype=np.uint8)
    if hasattr(data, "numpy") and hasattr(data, "dtype"):  # a tensor
        data = data.numpy()
    if isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 1:
        return data
    raise DatasetError(
        f"sample {index}: expected encoded image bytes (bytes, or a 1-D uint8 array or "
        f"tensor) from __getitem__, got {type(data).__name__}"
    )


_DATASET: Any = None


def _init(dataset: Any) -> None:
    global _DATASET
    _DATASET = dataset


def _fetch(indices: Sequence[int]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for index in indices:
        try:
            out.append(("ok", unpack(_DATASET[index], index)))
        except Exception as exc:
            tb = "".join(traceback.format_exception(exc))
            out.append(("error", (f"{type(exc).__name__}: {exc}", tb)))
    return out


class EncodedDataset:
    """A :class:`~dali_pipelines.data.source.SampleSource` over a bytes-returning Dataset."""

    def __init__(self, dataset: Any, *, workers: int = 2, prefetch: int = 4):
        self.dataset = dataset
        self.workers = workers
        self.prefetch = max(1, prefetch)
        self.classes = getattr(dataset, "classes", None)
        self._pool: ProcessPoolExecutor | None = None
        self._pid = os.getpid()
        self._queue: deque[list[int]] = deque()
        self._inflight: deque[list[int]] = deque()
        self._futures: dict[int, Future[list[tuple[str, Any]]]] = {}
        self._slot: dict[int, int] = {}  # index -> position in its task's result list
        self._items: dict[int, Item] = {}
        self._paths: dict[int, str] = {}  # names from the metadata, for error messages

    def __len__(self) -> int:
        return len(self.dataset)

    # -- the loader's hook ---------------------------------------------------------------------
    def prepare_epoch(self, batches: Sequence[np.ndarray], start: int = 0) -> None:
        """Queue the epoch's samples in the loader's order; the workers start on them now."""
        for future in set(self._futures.values()):
            future.cancel()
        self._futures.clear()
        self._slot.clear()
        self._items.clear()
        self._inflight.clear()
        self._queue = deque([int(i) for i in batch] for batch in batches[start:])
        self._fill()

    def _fill(self) -> None:
        if self.workers < 1 or os.getpid() != self._pid:
            return  # no workers, or a forked process of someone else's: read in place
        while self._queue and len(self._inflight) < self.prefetch:
            batch = self._queue.popleft()
            self._inflight.append(batch)
            pool = self._executor()
            bounds = np.linspace(0, len(batch), min(self.workers, len(batch)) + 1).astype(int)
            for a, b in itertools.pairwise(bounds):
                future = pool.submit(_fetch, batch[a:b])
                for slot, index in enumerate(batch[a:b]):
                    self._futures[index], self._slot[index] = future, slot

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            with fork_guard():  # a child must never collect a DALI pipeline
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("fork"),
                    initializer=_init,
                    initargs=(self.dataset,),
                )
                self._pool.submit(len, ()).result()  # fork now
        return self._pool

    # -- SampleSource --------------------------------------------------------------------------
    def _item(self, index: int) -> Item:
        if index in self._items:
            return self._items[index]
        future = self._futures.pop(index, None)
        if future is None:
            results = _run_here(self.dataset, index)
        else:
            try:
                results = [future.result()[self._slot.pop(index)]]
            except BrokenProcessPool as exc:
                self.close()
                raise PythonStageError(
                    f"a dataset worker process died while reading sample {index}",
                    op=OP,
                    index=index,
                ) from exc
            if self._inflight and index == self._inflight[0][-1]:
                self._inflight.popleft()  # the batch is all here: queue the next one
                self._fill()
        kind, value = results[0]
        if kind == "error":
            message, tb = value
            path = self.path(index)
            raise PythonStageError(
                f"{OP} failed on sample {index} ({path}): {message}",
                op=OP,
                index=index,
                path=path,
            ) from RemoteTraceback(tb)
        self._items[index] = value
        named = next((value[2][k] for k in ("path", "file", "filename") if k in value[2]), None)
        if named is not None:
            self._paths[index] = str(named)
        return value

    def read_bytes(self, index: int) -> np.ndarray:
        return self._item(index)[0]

    def label(self, index: int) -> int:
        item = self._items.pop(index, None) or self._item(index)
        return item[1]

    def meta(self, index: int) -> dict[str, Any]:
        return self._item(index)[2]

    def path(self, index: int) -> str:
        return self._paths.get(index) or f"{type(self.dataset).__name__}[{index}]"

    def fingerprint(self) -> str:
        return f"{type(self.dataset).__module__}.{type(self.dataset).__qualname__}:{len(self)}"

    def close(self) -> None:
        if self._pool is not None:
            with contextlib.suppress(Exception):
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _run_here(dataset: Any, index: int) -> list[tuple[str, Any]]:
    global _DATASET
    previous, _DATASET = _DATASET, dataset
    try:
        return _fetch([index])
    finally:
        _DATASET = previous
