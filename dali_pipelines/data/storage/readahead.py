"""Reading ahead in the loader's order, bounded by bytes and by requests in flight.

The loader owns the sample order and announces the batches to come to a dataset that offers
``plan_reads(batches)`` (the runner's hook: the current run and the next epoch's when known).
A remote source hands that to :meth:`ReadAhead.schedule`: the reads of those samples (one per
image column: an object, or a member's byte range) are issued in that order on a small thread
pool, while the executor's read-ahead thread consumes them one sample at a time. Without it
every sample would wait out one round trip on that thread (20-50 ms to a cloud bucket: a few
hundred samples a second at best). The executor keeps flowing from one epoch into the next.

Bounds: at most ``read_ahead_requests`` requests in flight, and at most ``read_ahead_bytes``
read or being read and not yet taken (a read larger than the bound alone is still issued, one at
a time). A read the consumer skips (a quarantined sample, say) is dropped once a later one is
taken. A read nobody planned (a recovery's re-read, another process's) goes to the store
directly, as does every read in a process other than the one that scheduled (a forked worker).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
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


class _Workers:
    """Daemon threads running reads: unlike a ``ThreadPoolExecutor``'s (joined when the
    interpreter exits), a read still retrying against a gone server cannot hold up the exit
    of a script that is done with its data."""

    def __init__(self, count: int, fetch: Callable[[Read], bytes]):
        self._fetch = fetch
        self._queue: queue.SimpleQueue[tuple[Future[bytes], Read] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"dali-pipelines-io-{k}", daemon=True)
            for k in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, read: Read) -> Future[bytes]:
        future: Future[bytes] = Future()
        self._queue.put((future, read))
        return future

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            future, read = item
            if not future.set_running_or_notify_cancel():
                continue  # dropped before it started
            try:
                future.set_result(self._fetch(read))
            except BaseException as exc:  # handed to whoever takes the read
                future.set_exception(exc)

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)


@dataclass
class _Entry:
    read: Read
    future: Future[bytes]
    position: int  # the sample's position in the planned order


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
        self._pool: _Workers | None = None
        self._order = np.zeros(0, dtype=np.int64)  # sample indices, in the loader's order
        self._next = 0  # position of the next sample whose reads are not yet listed
        self._queued: deque[tuple[int, Read]] = deque()  # listed, not yet issued
        self._window: deque[_Entry] = deque()  # issued, not yet taken
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

    def schedule(self, batches: Sequence[np.ndarray]) -> None:
        """Read the samples of ``batches`` ahead, in order. A plan that continues the current
        one (the runner announces each epoch twice: as the next one, then as the current one)
        keeps what is read ahead; any other replaces it."""
        if self.max_bytes == 0:
            return
        if self._pid != os.getpid():  # first use here, or forked: nothing of the parent's
            self._reset()
            self._pid = os.getpid()
        parts = [np.asarray(batch, dtype=np.int64).reshape(-1) for batch in batches]
        order = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        with self._lock:
            taken = self._continues(order)
            if taken is None:
                self._clear()
                self._order = order
            else:  # keep what is read ahead; forget what was taken
                self._rebase(self._earliest())
                self._order = order[taken:]
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

    @property
    def busy(self) -> bool:
        """Whether reads are in flight (a benchmark waits for that to end between sides)."""
        return self._inflight > 0

    def close(self) -> None:
        """Drop what is planned and read ahead; the threads end (a read under way first)."""
        with self._lock:
            self._clear()
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.stop()

    # -- internals (under the lock) -------------------------------------------------------------
    def _continues(self, order: np.ndarray) -> int | None:
        """When ``order`` continues the current plan (its first samples possibly taken
        already: the executor flows into an epoch before the loader announces it again), how
        many of them were taken; otherwise ``None``."""
        first = self._earliest()
        rest = len(self._order) - first
        if rest == 0 or len(order) == 0:
            return None
        for start in np.flatnonzero(self._order[: first + 1] == order[0])[::-1].tolist():
            taken = first - start
            if (
                len(order) - taken >= rest
                and np.array_equal(order[taken : taken + rest], self._order[first:])
                and np.array_equal(order[:taken], self._order[start:first])
            ):
                return taken
        return None

    def _earliest(self) -> int:
        """The position of the first sample not yet taken (or not yet issued)."""
        if self._window:
            return self._window[0].position
        return self._queued[0][0] if self._queued else self._next

    def _rebase(self, first: int) -> None:
        """Positions from ``first`` on become positions from 0 (the consumed part dropped)."""
        for entry in self._window:
            entry.position -= first
        self._queued = deque((position - first, read) for position, read in self._queued)
        self._next -= first

    def _clear(self) -> None:
        self._order, self._next = np.zeros(0, dtype=np.int64), 0  # first: a cancel fills again
        self._queued.clear()
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

    def _peek(self) -> tuple[int, Read] | None:
        while not self._queued:
            if self._next >= len(self._order):
                return None
            position = self._next
            self._next += 1
            try:
                reads = self.plan(int(self._order[position]))
            except Exception as exc:  # a sample the plan cannot name: its own read will say
                logger.debug("read-ahead skips position %d: %s", position, exc)
                continue
            self._queued.extend((position, read) for read in reads)
        return self._queued[0]

    def _fill(self) -> None:
        requests = self.store.options.read_ahead_requests
        while self._inflight < requests:
            head = self._peek()
            if head is None:
                return
            position, read = head
            size = read.end - read.start
            if self._window and self._bytes + size > self.max_bytes:
                return
            self._queued.popleft()
            if self._pool is None:
                self._pool = _Workers(requests, self._fetch)
            future = self._pool.submit(read)
            self._inflight += 1
            entry = _Entry(read, future, position)
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
