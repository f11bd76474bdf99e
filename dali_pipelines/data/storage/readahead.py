"""Reading ahead in the loader's order, bounded by bytes and by requests in flight.

The loader owns the sample order and announces each run of batches to a dataset that offers
``prepare_epoch(batches, start)`` (the runner's hook). A remote source hands that to
:meth:`ReadAhead.schedule`: the reads of those samples (one per image column: an object, or a
member's byte range) are issued in that order on a small thread pool, while the executor's
read-ahead thread consumes them one sample at a time. Without it every sample would wait out one
round trip on that thread (20-50 ms to a cloud bucket: a few hundred samples a second at best).

Bounds: at most ``read_ahead_requests`` requests in flight, and at most ``read_ahead_bytes``
read or being read and not yet taken (a read larger than the bound alone is still issued, one at
a time). A read the consumer skips (a quarantined sample, say) is dropped once a later one is
taken. A read nobody planned (a recovery's re-read, another process's) goes to the store
directly, as does every read in a process other than the one that scheduled (a forked worker).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .store import ObjectInfo, ObjectStore
from .urls import ObjectUrl

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Read:
    """Bytes ``[start, end)`` of an object (``info``: its size and ETag, for the cache)."""

    url: ObjectUrl
    start: int
    end: int
    info: ObjectInfo | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.url.url, self.start, self.end)


@dataclass
class _Entry:
    read: Read
    future: Future[bytes]


class ReadAhead:
    """``schedule(batches)`` then ``take(read)``; ``plan(index)`` lists a sample's reads."""

    Plan = Callable[[int], list[Read]]

    def __init__(self, store: ObjectStore, plan: Plan):
        self.store = store
        self.plan = plan
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.RLock()  # a done callback may run inside _fill (RLock)
        self._pid: int | None = None  # the process that scheduled
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Iterator[Read] = iter(())
        self._next: Read | None = None
        self._window: deque[_Entry] = deque()
        self._by_key: dict[tuple[str, int, int], deque[_Entry]] = {}
        self._bytes = 0
        self._inflight = 0

    def __getstate__(self) -> dict[str, Any]:
        return {"store": self.store, "plan": self.plan}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.store, self.plan = state["store"], state["plan"]
        self._reset()

    @property
    def max_bytes(self) -> int:
        return self.store.options.read_ahead_bytes

    def schedule(self, batches: Sequence[np.ndarray], start: int = 0) -> None:
        """Read the samples of ``batches[start:]`` ahead, in order (replacing any plan)."""
        if self.max_bytes == 0:
            return
        if self._pid != os.getpid():  # first use here, or forked: nothing of the parent's
            self._reset()
            self._pid = os.getpid()
        with self._lock:
            self._clear()
            order = (int(i) for batch in batches[start:] for i in np.asarray(batch).tolist())
            self._pending = (read for index in order for read in self.plan(index))
            self._fill()

    def take(self, read: Read) -> bytes | None:
        """The bytes of ``read`` when it was read ahead (waiting for it if in flight), else
        ``None`` (the caller reads it itself)."""
        if self._pid != os.getpid():
            return None
        with self._lock:
            entries = self._by_key.get(read.key)
            if not entries:
                return None
            entry = entries[0]
            while self._window and self._window[0] is not entry:  # skipped by the consumer
                self._drop(self._window.popleft())
            self._window.popleft()
            self._forget(entry)
            self._fill()
        return entry.future.result()

    def close(self) -> None:
        with self._lock:
            self._clear()
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.shutdown(wait=True, cancel_futures=True)

    # -- internals (under the lock) -------------------------------------------------------------
    def _clear(self) -> None:
        self._pending, self._next = iter(()), None  # first: a cancel's callback fills again
        while self._window:
            self._drop(self._window.popleft())

    def _forget(self, entry: _Entry) -> None:
        entries = self._by_key[entry.read.key]
        entries.remove(entry)
        if not entries:
            del self._by_key[entry.read.key]
        self._bytes -= entry.read.end - entry.read.start

    def _drop(self, entry: _Entry) -> None:
        self._forget(entry)
        entry.future.cancel()  # a read under way finishes; its bytes are let go

    def _peek(self) -> Read | None:
        if self._next is None:
            try:
                self._next = next(self._pending, None)
            except Exception as exc:  # a sample the plan cannot name: its own read will say
                logger.debug("read-ahead stopped: %s", exc)
                self._pending = iter(())
        return self._next

    def _fill(self) -> None:
        requests = self.store.options.read_ahead_requests
        while self._inflight < requests:
            read = self._peek()
            if read is None:
                return
            size = read.end - read.start
            if self._window and self._bytes + size > self.max_bytes:
                return
            self._next = None
            if self._pool is None:
                self._pool = ThreadPoolExecutor(requests, thread_name_prefix="dali-pipelines-io")
            future = self._pool.submit(self._fetch, read)
            self._inflight += 1
            entry = _Entry(read, future)
            self._window.append(entry)
            self._by_key.setdefault(read.key, deque()).append(entry)
            self._bytes += size
            future.add_done_callback(self._done)

    def _fetch(self, read: Read) -> bytes:
        return self.store.read(read.url, read.start, read.end, info=read.info)

    def _done(self, _: Future[bytes]) -> None:
        with self._lock:
            self._inflight -= 1
            self._fill()


__all__ = ["Read", "ReadAhead"]
