"""Remote WebDataset shards (``s3://bucket/shard-{000000..000099}.tar``): indexed, then ranges.

A shard is indexed once by walking its tar headers through :class:`RangeFile`, a seekable
file over ranged reads of ``SCAN_BLOCK`` bytes: tar's headers sit between the members, so this
reads the shard front to back once, skipping the blocks of members larger than a block. Members
of at most ``INLINE_BYTES`` (labels, numbers: ``.cls``, ``.txt``) are kept in the index itself,
so binding a spec's label column costs no request per sample. The index is cached as JSON in
``index_dir`` (else the storage cache folder; else nowhere), stamped with the object's size and
ETag: a rewritten shard is indexed again. A sample's member is then one ranged read (read ahead
in the loader's order, see :mod:`.storage.readahead`).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
from typing import Any

import numpy as np

from ..errors import DatasetError, ObjectNotFoundError
from .read import SeekableView
from .shard_cache import INDEX_VERSION, read_cache, write_cache
from .storage.readahead import Read
from .storage.reads import SourceReads
from .storage.store import ObjectInfo, ObjectStore
from .storage.urls import ObjectUrl
from .webdataset_index import cached_samples, split_member

#: Bytes of one ranged read while indexing a shard.
SCAN_BLOCK = 4 << 20
#: Members up to this size are kept inside the index (labels, numbers).
INLINE_BYTES = 256

Samples = list[tuple[str, dict[str, tuple[int, int]]]]


class RangeFile(SeekableView):
    """A read-only, seekable file over ``store``'s ranged reads, one block buffered."""

    def __init__(self, store: ObjectStore, info: ObjectInfo, block: int = SCAN_BLOCK):
        super().__init__(info.size)
        self._store, self._info, self._block = store, info, block
        self._start, self._data = 0, b""

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._position >= self._info.size or not len(view):
            return 0
        at = self._position - self._start
        if not 0 <= at < len(self._data):  # outside the buffered block: fetch the next one
            end = min(self._position + max(self._block, len(view)), self._info.size)
            url = self._info.url
            self._data = self._store.read(url, self._position, end, info=self._info)
            self._start, at = self._position, 0
        count = min(len(view), len(self._data) - at)
        view[:count] = self._data[at : at + count]
        self._position += count
        return count


def scan(store: ObjectStore, info: ObjectInfo) -> tuple[Samples, dict[int, bytes]]:
    """The shard's samples (key, {ext: (offset, size)}) and its small members' bytes."""
    samples: dict[str, dict[str, tuple[int, int]]] = {}
    inline: dict[int, bytes] = {}
    handle = io.BufferedReader(RangeFile(store, info), buffer_size=64 << 10)
    try:
        with tarfile.open(fileobj=handle, mode="r:") as tar:
            for member in tar:
                parts = split_member(member.name) if member.isfile() else None
                if parts is None:
                    continue
                offset, size = member.offset_data, member.size
                if offset < 0 or size < 0 or offset + size > info.size:
                    raise DatasetError(
                        f"{info.url}: expected member {member.name!r} inside the object "
                        f"({info.size} bytes), got {size} bytes at offset {offset}"
                    )
                samples.setdefault(parts[0], {})[parts[1]] = (offset, size)
                if size <= INLINE_BYTES:
                    extracted = tar.extractfile(member)
                    inline[offset] = extracted.read() if extracted is not None else b""
    except tarfile.TarError as exc:
        raise DatasetError(f"{info.url}: expected an uncompressed tar file, got {exc}") from exc
    return list(samples.items()), inline


def _cache_path(store: ObjectStore, info: ObjectInfo, index_dir: str | None) -> str | None:
    folder = index_dir
    if folder is None and store.options.cache_dir is not None:
        folder = os.path.join(store.options.cache_dir, "indexes")
    if folder is None:
        return None
    digest = hashlib.sha256(info.url.url.encode()).hexdigest()[:16]
    return os.path.join(folder, f"{info.url.name}.{digest}.idx.json")


def load_remote_index(
    store: ObjectStore, info: ObjectInfo, index_dir: str | None
) -> tuple[Samples, dict[int, bytes]]:
    """The shard's index from its cache when the object is unchanged, else scanned (and
    cached when there is a folder for it)."""
    cache = _cache_path(store, info, index_dir)
    stamp: dict[str, Any] = {"version": INDEX_VERSION, "size": info.size, "etag": info.etag}
    if cache is not None and info.etag is not None:
        data = read_cache(cache, stamp)
        if data is not None:
            try:
                return _cached(data, info.size)
            except (ValueError, KeyError, TypeError, AttributeError):
                pass  # a broken cache: scan again
    samples, inline = scan(store, info)
    if cache is not None and info.etag is not None:
        encoded = [[k, base64.b64encode(v).decode()] for k, v in inline.items()]
        write_cache(cache, {**stamp, "samples": samples, "inline": encoded})
    return samples, inline


def _cached(data: dict[str, Any], size: int) -> tuple[Samples, dict[int, bytes]]:
    samples: Samples = cached_samples(data, size)
    inline = {int(k): base64.b64decode(v, validate=True) for k, v in data["inline"]}
    return samples, inline


class RemoteShards:
    """The shards of a remote WebDataset: their objects, indexes, and member reads."""

    def __init__(self, urls: list[str], reads: SourceReads, index_dir: str | None):
        self.reads = reads
        store = reads.store
        self.infos: list[ObjectInfo] = []
        for url in urls:
            try:
                self.infos.append(store.info(ObjectUrl(url)))
            except ObjectNotFoundError as exc:  # not there: the dataset is wrong, not storage
                raise DatasetError(f"WebDataset: expected an existing shard, got {exc}") from None
        indexes = [load_remote_index(store, info, index_dir) for info in self.infos]
        self.samples = [samples for samples, _ in indexes]
        self._inline = [inline for _, inline in indexes]

    def name(self, shard: int) -> str:
        """The shard's URL for messages (redacted)."""
        return str(self.infos[shard].url)

    def member(self, shard: int, offset: int, size: int) -> Read:
        info = self.infos[shard]
        return Read(info.url, offset, offset + size, info)

    def array(self, shard: int, offset: int, size: int) -> np.ndarray:
        """``size`` bytes at ``offset`` of the shard as a uint8 array (a member kept in the
        index without a request)."""
        kept = self._inline[shard].get(offset)
        if kept is not None and len(kept) == size:
            return np.frombuffer(kept, dtype=np.uint8)
        return self.reads.read(self.member(shard, offset, size))

    def planned(self, shard: int, offset: int, size: int) -> list[Read]:
        """The read-ahead's reads for a member: none when it is kept in the index."""
        return [] if offset in self._inline[shard] else [self.member(shard, offset, size)]


__all__ = ["INLINE_BYTES", "SCAN_BLOCK", "RangeFile", "RemoteShards", "load_remote_index", "scan"]
