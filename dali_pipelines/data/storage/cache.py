"""A local on-disk cache of objects and byte ranges, bounded in size, shared by processes.

An entry is keyed by the object's URL, its ETag and size, and the range: an object rewritten
under the same name has another ETag (or size), so its old bytes are never served, only left
to age out. An object whose ETag is unknown is not cached at all. Entries are written to a
temporary file and renamed into place, so a reader (another rank, a DataLoader worker) sees a
whole entry or none; a hit refreshes the entry's modification time, and past ``max_bytes`` the
entries least recently used are removed down to 7/8 of it.

Several processes may share a folder. Each keeps an estimate of the folder's size (from a scan
at start, plus what it wrote) and scans again when the estimate passes the limit or after it
wrote 1/16 of the limit since its last scan, so the folder exceeds the limit by at most what
the other processes wrote since their own last scan. Removing an entry another process is
reading is safe (its open file keeps the bytes).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from pathlib import Path

logger = logging.getLogger(__name__)

_ENTRIES = "entries"
_SUFFIX = ".bin"


def entry_key(url: str, etag: str, size: int, start: int, end: int) -> str:
    """The entry name of bytes ``[start, end)`` of the object ``url`` at ``etag``/``size``."""
    text = f"{url}\0{etag}\0{size}\0{start}\0{end}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class DiskCache:
    """``get(key, length)`` / ``put(key, data)`` under ``root``, at most ``max_bytes``."""

    def __init__(self, root: str | os.PathLike[str], max_bytes: int):
        self.root = Path(root)
        self.folder = self.root / _ENTRIES
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._estimate: int | None = None  # the folder's bytes, as this process knows them
        self._written = 0  # bytes written since the last scan

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}{_SUFFIX}"

    def get(self, key: str, length: int) -> bytes | None:
        """The entry's bytes when present and ``length`` long; a hit counts as a use."""
        path = self._path(key)
        try:
            with open(path, "rb") as handle:
                data = handle.read(length + 1)
            os.utime(path)
        except OSError:  # absent, or removed by another process meanwhile
            return None
        if len(data) != length:  # never written short (atomic); a foreign file: drop it
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return data

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` (atomically); an entry larger than an eighth of the limit is not
        kept (it would evict most of the cache), nor is anything on a failing disk."""
        if len(data) > self.max_bytes // 8:
            return
        path = self._path(key)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except OSError as exc:
            logger.debug("cache %s: entry not written (%s)", self.root, exc)
            with contextlib.suppress(OSError):
                temporary.unlink()
            return
        with self._lock:
            if self._estimate is None:
                self._estimate = self.scan()[1]
            else:
                self._estimate += len(data)
            self._written += len(data)
            if self._estimate > self.max_bytes or self._written > self.max_bytes // 16:
                self._evict()

    def scan(self) -> tuple[list[tuple[float, int, Path]], int]:
        """Every entry as (last use, bytes, path), oldest first, and their total."""
        entries: list[tuple[float, int, Path]] = []
        if not self.folder.is_dir():
            return entries, 0
        for shard in os.scandir(self.folder):
            if not shard.is_dir(follow_symlinks=False):
                continue
            for item in os.scandir(shard.path):
                if not item.name.endswith(_SUFFIX):
                    continue
                with contextlib.suppress(OSError):
                    info = item.stat(follow_symlinks=False)
                    entries.append((info.st_mtime, info.st_size, Path(item.path)))
        entries.sort(key=lambda e: e[0])
        return entries, sum(size for _, size, _ in entries)

    def _evict(self) -> None:
        """Scan; past the limit remove the least recently used down to 7/8 of it."""
        entries, total = self.scan()
        self._written = 0
        if total > self.max_bytes:
            target = self.max_bytes - self.max_bytes // 8
            removed = 0
            for _, size, path in entries:
                if total <= target:
                    break
                with contextlib.suppress(OSError):
                    path.unlink()
                    total -= size
                    removed += 1
            logger.debug("cache %s: %d entries removed, %d bytes kept", self.root, removed, total)
        self._estimate = total


__all__ = ["DiskCache", "entry_key"]
