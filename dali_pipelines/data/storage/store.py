"""``ObjectStore``: sizes, listings and reads of objects, retried, checked and cached.

One store serves a source (and its read-ahead). It holds its filesystems per protocol and per
process: a DataLoader worker forked from a process that already read (whose fsspec event loop
and connections belong to the parent) builds its own on first use, as a pickled store (a
spawned worker) does; the options are all that travels.

Every read is a range (a whole object: the range of its listed size) and is checked for its
length: it must come back exactly ``end - start`` bytes, so a connection cut mid-object that a
client took for the end of the body is retried, never handed on as a short sample. A longer
body means a server that ignores ranges: that is not retried.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from ...errors import ObjectNotFoundError, StorageError
from .cache import DiskCache, entry_key
from .filesystems import make_filesystem
from .options import StorageOptions
from .retry import ShortReadError, with_retries
from .urls import ObjectUrl


@dataclass(frozen=True)
class ObjectInfo:
    """An object's size and version tag (``None`` when the store has none: never cached)."""

    url: ObjectUrl
    size: int
    etag: str | None


class ChangedObjectError(ValueError):
    """A body longer than the range asked for (not retried)."""


def object_info(url: ObjectUrl, raw: dict[str, Any]) -> ObjectInfo:
    """An fsspec ``info`` dict as :class:`ObjectInfo` (S3: ``ETag``; GCS: ``etag``/``md5Hash``;
    HTTP: ``ETag`` when the server sends one)."""
    if raw.get("type") == "directory":
        raise ObjectNotFoundError(f"{url}: expected an object, got a folder", url=str(url))
    size = raw.get("size")
    if type(size) is not int or size < 0:
        raise StorageError(f"{url}: expected the object's size, got {size!r}", url=str(url))
    tag = next((raw[k] for k in ("ETag", "etag", "md5Hash", "generation") if raw.get(k)), None)
    return ObjectInfo(url, size, None if tag is None else str(tag))


class ObjectStore:
    """Reads through fsspec under :class:`StorageOptions` (retries, timeouts, cache)."""

    def __init__(self, options: StorageOptions | None = None):
        self.options = StorageOptions() if options is None else options
        if not isinstance(self.options, StorageOptions):
            got = type(self.options).__name__
            raise StorageError(f"storage: expected a StorageOptions, got {got}")
        self._fresh()

    def _fresh(self) -> None:
        """Per-process state: filesystems, their lock, the cache's bookkeeping."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._filesystems: dict[str, Any] = {}
        options = self.options
        self.cache = (
            None if options.cache_dir is None else DiskCache(options.cache_dir, options.cache_bytes)
        )

    def __getstate__(self) -> dict[str, Any]:
        return {"options": self.options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.options = state["options"]
        self._fresh()

    def filesystem(self, protocol: str) -> Any:
        """This process's fsspec filesystem for ``protocol``."""
        if self._pid != os.getpid():  # forked: the parent's loop and sockets are not ours
            self._fresh()
        fs = self._filesystems.get(protocol)
        if fs is None:
            with self._lock:
                fs = self._filesystems.get(protocol)
                if fs is None:
                    fs = make_filesystem(protocol, self.options)
                    self._filesystems[protocol] = fs
        return fs

    def _run(self, url: ObjectUrl, method: str, timeout: float, *args: Any, **kwargs: Any) -> Any:
        """``fs.method(*args)``: an async filesystem's coroutine on its loop, cancelled at
        ``timeout`` (fsspec's ``sync``); a synchronous one called as it is."""
        fs = self.filesystem(url.protocol)
        if getattr(fs, "async_impl", False) and not getattr(fs, "asynchronous", False):
            from fsspec.asyn import sync

            return sync(fs.loop, getattr(fs, f"_{method}"), *args, timeout=timeout, **kwargs)
        return getattr(fs, method)(*args, **kwargs)

    def info(self, url: ObjectUrl) -> ObjectInfo:
        """Size and ETag of ``url`` (one request); :class:`ObjectNotFoundError` when absent."""
        raw = with_retries(lambda t: self._run(url, "info", t, url.url), url, "size", self.options)
        return object_info(url, raw)

    def listing(self, folder: ObjectUrl) -> dict[str, ObjectInfo]:
        """The objects directly in ``folder`` by URL (one paged listing; sub-folders are not
        descended into); an absent folder lists nothing."""

        def listed(timeout: float) -> Any:
            try:
                return self._run(folder, "ls", timeout, folder.url, detail=True)
            except FileNotFoundError:
                return []

        raw = with_retries(listed, folder, "listing", self.options)
        out: dict[str, ObjectInfo] = {}
        for entry in raw:
            if entry.get("type", "file") == "directory":
                continue
            url = ObjectUrl(f"{folder.scheme}://{str(entry['name']).split('://', 1)[-1]}")
            out[url.url] = object_info(url, entry)
        return out

    def glob(self, pattern: ObjectUrl) -> list[str]:
        """URLs matching ``pattern`` (``*``, ``?``, ``[...]``), sorted."""
        found = with_retries(
            lambda t: self._run(pattern, "glob", t, pattern.url), pattern, "glob", self.options
        )
        return sorted(f"{pattern.scheme}://{name.split('://', 1)[-1]}" for name in found)

    def read(
        self, url: ObjectUrl, start: int | None = None, end: int | None = None, *, info: Any = None
    ) -> bytes:
        """Bytes ``[start, end)`` of ``url``, or the whole object (``start``/``end`` ``None``:
        its size from ``info`` or one more request). Retried, length-checked, and cached when
        ``info`` gives the object's ETag."""
        if info is None and (start is None or end is None):
            info = self.info(url)
        whole = start is None and end is None
        first = 0 if start is None else start
        last = info.size if end is None else end
        if last < first:
            raise StorageError(f"{url}: expected a range, got bytes {first}-{last - 1}")
        if last == first:  # nothing to ask for (an empty object: a bad sample downstream)
            return b""
        key = None
        if self.cache is not None and info is not None and info.etag is not None:
            key = entry_key(url.url, info.etag, info.size, first, last)
            hit = self.cache.get(key, last - first)
            if hit is not None:
                return hit

        def attempt(timeout: float) -> bytes:
            # A whole object too is asked for as the range of its listed size: one GET (a
            # plain one makes s3fs ask for the size first), and a longer object is noticed.
            data = self._run(url, "cat_file", timeout, url.url, start=first, end=last)
            return _checked(bytes(data), last - first)

        what = "the object" if whole else f"bytes {first}-{last - 1}"
        data = with_retries(attempt, url, what, self.options)
        if key is not None and self.cache is not None:
            self.cache.put(key, data)
        return data


def _checked(data: bytes, expected: int) -> bytes:
    if len(data) < expected:
        raise ShortReadError(f"expected {expected} bytes, got {len(data)} (a cut response)")
    if len(data) > expected:
        raise ChangedObjectError(
            f"expected {expected} bytes (the range asked for), got {len(data)} (a server that "
            "ignores HTTP ranges)"
        )
    return data


__all__ = ["ChangedObjectError", "ObjectInfo", "ObjectStore", "object_info"]
