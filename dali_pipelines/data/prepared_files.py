"""Where a prepared folder's files live: a local folder (memory maps) or a remote prefix.

:class:`~.prepared.Prepared` asks the same of both: the manifest, each shard's checked size
(and SHA-256 with ``verify``), each index, and byte ranges of a shard. Locally a range is a
slice of a read-only memory map (mapped per process: a forked worker maps again); remotely it
is one ranged read (``s3://bucket/prepared/shards/shard-000000.tar``, bytes ``a-b``), read ahead
in the loader's order and cached as the storage options say. Both give the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError, ObjectNotFoundError
from .prepared_format import (
    MANIFEST_NAME,
    MAX_JSON_BYTES,
    SHARDS_DIR,
    PreparedManifest,
    ShardEntry,
    ShardIndex,
    index_name,
    parse_json_model,
    read_json_model,
)
from .prepared_index import check_index, check_name, check_shard, load_index
from .storage.options import StorageOptions
from .storage.readahead import Read
from .storage.reads import SourceReads
from .storage.store import ObjectInfo
from .storage.urls import ObjectUrl

#: Bytes of one read while hashing a remote shard (``verify=True``).
HASH_BLOCK = 8 << 20


class LocalFiles:
    """A prepared folder on this machine."""

    remote = False

    def __init__(self, root: Path):
        self.root = root
        self.paths: tuple[str, ...] = ()
        self._fresh()

    def _fresh(self) -> None:
        self._maps: dict[int, np.memmap] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()

    @property
    def where(self) -> Path:
        return self.root / MANIFEST_NAME

    def manifest(self) -> PreparedManifest:
        found: PreparedManifest = read_json_model(self.where, PreparedManifest, "prepared manifest")
        return found

    def check_shards(self, entries: tuple[ShardEntry, ...], verify: bool) -> tuple[str, ...]:
        self.paths = tuple(
            check_shard(self.root, self.where, e.name, e.bytes, e.sha256, verify) for e in entries
        )
        return self.paths

    def index(self, entry: ShardEntry) -> ShardIndex:
        return load_index(self.root, entry)

    def read(self, shard: int, start: int, end: int) -> np.ndarray:
        """Bytes ``[start, end)`` of the shard: a view of its memory map, no copy."""
        return np.asarray(self._map(shard)[start:end])

    def peek(self, shard: int, start: int, end: int) -> np.ndarray:
        """A few bytes read without mapping the shard (opening checks every shard's headers:
        a map each would hold a descriptor per shard from the start)."""
        with open(self.paths[shard], "rb") as handle:
            return np.frombuffer(os.pread(handle.fileno(), end - start, start), dtype=np.uint8)

    def _map(self, shard: int) -> np.memmap:
        if self._pid != os.getpid():  # a forked child: its own maps and an unheld lock
            self._fresh()
        mapped = self._maps.get(shard)
        if mapped is None:
            with self._lock:
                mapped = self._maps.get(shard)
                if mapped is None:
                    mapped = np.memmap(self.paths[shard], dtype=np.uint8, mode="r")
                    self._maps[shard] = mapped
        return mapped

    def close(self) -> None:
        """Drop the memory maps (arrays already returned keep theirs alive)."""
        with self._lock:
            self._maps.clear()

    def __getstate__(self) -> dict[str, Any]:  # pickled (a spawned worker): maps are per process
        return {"root": self.root, "paths": self.paths}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.root, self.paths = state["root"], state["paths"]
        self._fresh()


class RemoteFiles:
    """A prepared folder under a URL prefix (``s3://bucket/prepared``)."""

    remote = True

    def __init__(self, root: ObjectUrl, storage: StorageOptions | None):
        self.root = root
        self.reads = SourceReads(storage)
        self.infos: list[ObjectInfo] = []
        self.paths: tuple[str, ...] = ()

    @property
    def where(self) -> ObjectUrl:
        return self.root.child(MANIFEST_NAME)

    def _json(self, url: ObjectUrl, model: Any, what: str) -> Any:
        store = self.reads.store
        try:
            info = store.info(url)
        except ObjectNotFoundError as exc:
            raise DatasetError(f"{url}: expected a {what}, got {exc}") from None
        if info.size > MAX_JSON_BYTES:
            raise DatasetError(f"{url}: expected at most {MAX_JSON_BYTES} bytes, got {info.size}")
        return parse_json_model(store.read(url, info=info), str(url), model, what)

    def manifest(self) -> PreparedManifest:
        found: PreparedManifest = self._json(self.where, PreparedManifest, "prepared manifest")
        return found

    def check_shards(self, entries: tuple[ShardEntry, ...], verify: bool) -> tuple[str, ...]:
        """Each shard's object: a plain name, the manifest's size (and SHA-256: ``verify``)."""
        store = self.reads.store
        for entry in entries:
            check_name(self.where, entry.name)
            url = self.root.child(f"{SHARDS_DIR}/{entry.name}")
            try:
                info = store.info(url)
            except ObjectNotFoundError as exc:
                got = f"got {exc}"
                raise DatasetError(f"{url}: expected a shard of the prepared data, {got}") from None
            if info.size != entry.bytes:
                raise DatasetError(
                    f"{url}: expected {entry.bytes} bytes ({MANIFEST_NAME}), got {info.size} (a "
                    "truncated or modified shard: prepare the data again)"
                )
            if verify:
                self._verify(info, entry.sha256)
            self.infos.append(info)
        self.paths = tuple(str(info.url) for info in self.infos)
        return self.paths

    def _verify(self, info: ObjectInfo, sha256: str) -> None:
        digest = hashlib.sha256()
        for start in range(0, info.size, HASH_BLOCK):
            end = min(start + HASH_BLOCK, info.size)
            digest.update(self.reads.store.read(info.url, start, end, info=info))
        if digest.hexdigest() != sha256:
            raise DatasetError(
                f"{info.url}: expected SHA-256 {sha256} ({MANIFEST_NAME}), got "
                f"{digest.hexdigest()} (the shard's bytes changed: prepare the data again)"
            )

    def index(self, entry: ShardEntry) -> ShardIndex:
        url = self.root.child(f"{SHARDS_DIR}/{index_name(entry.name)}")
        index: ShardIndex = self._json(url, ShardIndex, "prepared shard index")
        return check_index(url, index, entry)

    def range(self, shard: int, start: int, end: int) -> Read:
        info = self.infos[shard]
        return Read(info.url, start, end, info)

    def read(self, shard: int, start: int, end: int) -> np.ndarray:
        """Bytes ``[start, end)`` of the shard: one ranged read (or the read-ahead's)."""
        return self.reads.read(self.range(shard, start, end))

    peek = read

    def close(self) -> None:
        self.reads.close()


__all__ = ["HASH_BLOCK", "LocalFiles", "RemoteFiles"]
