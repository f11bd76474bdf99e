"""``WebDataset``: samples grouped by key inside local ``.tar`` shards, read by offset.

The loader owns the sample order (one permutation per (seed, epoch) over every sample of every
shard, split across ranks like ``DistributedSampler``), so the shards are indexed here rather
than streamed by DALI's ``readers.webdataset``, whose shuffle is a local buffer over a stream.
Indexing walks each tar's headers once (``tarfile``: member name, data offset, size) and caches
the result as JSON next to the shard (or in ``index_dir``), keyed by the shard's size and mtime
so a rewritten shard is indexed again. Reading a sample is then one ``pread`` per member.

WebDataset naming: a member ``dir/key.ext`` belongs to sample ``dir/key`` (the key ends at the
first dot of the file name); a spec column names an extension (``jpg``, ``cls``), and
``"jpg;png"`` takes the first one a sample has. An audio spec's column names audio members
(``wav``, ``flac``, ``ogg``), read like image members; their durations come from the members'
headers, cached next to the index (:mod:`.webdataset_audio`).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DatasetError
from .columns import BoundSource, parse_number, resolve_labels
from .read import DEFAULT_MAX_FILE_BYTES, check_limit, too_large
from .storage.options import StorageOptions
from .storage.readahead import Read
from .storage.reads import SourceReads
from .storage.urls import ObjectUrl, is_remote, local_path, redact
from .webdataset_audio import check_audio_column, shard_durations
from .webdataset_index import Shard, load_index
from .webdataset_remote import RemoteShards

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..plan.layout import Layout

#: The largest label or feature member read as text, in bytes (64 KiB: one class name or number).
MAX_TEXT_BYTES = 1 << 16
_BRACES = re.compile(r"\{(\d+)\.\.(\d+)\}")


def expand_shards(
    spec: str, glob_remote: Callable[[ObjectUrl], list[str]] | None = None
) -> list[str]:
    """``shards-{000..002}.tar`` -> three names (WebDataset's brace notation), else a glob
    (of a URL: through ``glob_remote``, a listing)."""
    match = _BRACES.search(spec)
    if match:
        lo, hi = match.group(1), match.group(2)
        width = len(lo)
        return [
            name
            for n in range(int(lo), int(hi) + 1)
            for name in expand_shards(
                f"{spec[: match.start()]}{n:0{width}d}{spec[match.end() :]}", glob_remote
            )
        ]
    pattern = spec.split("://", 1)[-1].split("?", 1)[0] if is_remote(spec) else spec
    if any(ch in pattern for ch in "*?["):
        if glob_remote is not None and is_remote(spec):
            return glob_remote(ObjectUrl(spec))
        return sorted(glob.glob(spec))
    return [spec]


def _local_shards(texts: list[str]) -> list[str]:
    """The local shard files of ``texts`` (paths, ``file://`` URLs, braces, globs)."""
    paths: list[str] = []
    for text in texts:
        text = local_path(text)
        found = expand_shards(text)
        if not found:
            raise DatasetError(f"WebDataset: expected shards matching {text!r}, found none")
        paths += found
    for path in paths:
        if not os.path.isfile(path):
            raise DatasetError(f"WebDataset: expected an existing .tar file, got {path!r}")
    return paths


class WebDataset:
    """``.tar`` shards, local or remote (``s3://``, ``gs://``, ``http(s)://``: see
    docs/storage.md); samples in shard order, then in order of first appearance."""

    #: The runner's read-ahead hook: set for remote shards only (local reads need none).
    plan_reads: Callable[..., None] | None = None

    def __init__(
        self,
        urls_or_paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        *,
        index_dir: str | os.PathLike[str] | None = None,
        max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
        storage: StorageOptions | None = None,
    ):
        #: Bytes one image member may hold (as ImageFolder's files); ``None``: no bound.
        self.max_file_bytes = check_limit(max_file_bytes, "WebDataset.max_file_bytes")
        specs = [urls_or_paths] if isinstance(urls_or_paths, (str, os.PathLike)) else urls_or_paths
        texts = [os.fspath(spec) for spec in specs]
        #: Where the shards' index and durations caches go (``None``: next to each shard; for
        #: remote shards, the storage cache's folder or nowhere).
        self.index_dir = None if index_dir is None else os.fspath(index_dir)
        #: Remote shards (``s3://``, ...): their store, indexes and reads; ``None``: local files.
        self._remote: RemoteShards | None = None
        if any(is_remote(text) for text in texts):
            self._open_remote(texts, storage)
        else:
            paths = _local_shards(texts)
            self.shards = [load_index(path, self.index_dir) for path in paths]
        #: Global sample index -> (shard, position in shard).
        self._where: list[tuple[int, int]] = [
            (s, k) for s, shard in enumerate(self.shards) for k in range(len(shard.samples))
        ]
        if not self._where:
            names = [shard.path for shard in self.shards]
            raise DatasetError(f"WebDataset: expected samples in {names}, found none")
        self._fds: dict[int, int] = {}
        self._image_columns: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._bound: BoundSource | None = None
        self._audio_column: str | None = None  # an audio layout's extension, once bound
        self._durations: dict[str, np.ndarray] = {}

    def _open_remote(self, texts: list[str], storage: StorageOptions | None) -> None:
        """Expand the URLs (braces; globs through a listing), index the shards."""
        if not all(is_remote(text) for text in texts):
            raise DatasetError(
                f"WebDataset: expected all shards local or all remote, got {redact(str(texts))}"
            )
        reads = SourceReads(storage)
        urls: list[str] = []
        for text in texts:
            for name in expand_shards(text, glob_remote=reads.store.glob):
                urls.append(name)
        if not urls:
            raise DatasetError(f"WebDataset: expected shards matching {redact(str(texts))}")
        self._remote = RemoteShards(urls, reads, self.index_dir)
        self.shards = [
            Shard(self._remote.name(s), samples) for s, samples in enumerate(self._remote.samples)
        ]
        self.plan_reads = reads.plan_reads

    def _pread(self, shard: int, size: int, offset: int) -> np.ndarray:
        """``size`` bytes at ``offset`` of shard ``shard``: one ``pread`` (no shared file
        position, so DALI's and the loader's threads may read at once), or a ranged read."""
        if self._remote is not None:
            return self._remote.array(shard, offset, size)
        return np.frombuffer(os.pread(self._fd(shard), size, offset), dtype=np.uint8)

    def _planned(self, index: int) -> list[Read]:
        """The reads of sample ``index``'s bound image members (for the read-ahead)."""
        assert self._remote is not None and self._bound is not None
        reads: list[Read] = []
        for ext in self._image_columns:
            shard, _, (offset, size) = self._member(index, ext)
            if self.max_file_bytes is None or size <= self.max_file_bytes:
                reads += self._remote.planned(shard, offset, size)
        return reads

    def __len__(self) -> int:
        return len(self._where)

    def __repr__(self) -> str:
        return f"WebDataset(shards={len(self.shards)}, samples={len(self)})"

    @property
    def shard_sizes(self) -> list[int]:
        return [len(shard.samples) for shard in self.shards]

    def _fd(self, shard: int) -> int:
        fd = self._fds.get(shard)
        if fd is None:
            with self._lock:
                fd = self._fds.get(shard)
                if fd is None:
                    fd = os.open(self.shards[shard].path, os.O_RDONLY)
                    self._fds[shard] = fd
        return fd

    def _member(self, index: int, ext: str) -> tuple[int, str, tuple[int, int]]:
        shard, position = self._where[index]
        key, members = self.shards[shard].samples[position]
        for choice in ext.split(";"):
            if choice in members:
                return shard, choice, members[choice]
        name = Path(self.shards[shard].path).name
        raise DatasetError(
            f"{name} sample {key!r}, column {ext!r}: expected a member {key}.{ext}, got "
            f"{', '.join(f'{key}.{e}' for e in members)}"
        )

    def read_member(self, index: int, ext: str) -> np.ndarray:
        shard, _, (offset, size) = self._member(index, ext)
        if self.max_file_bytes is not None and size > self.max_file_bytes:
            raise too_large(self.member_path(index, ext), size, self.max_file_bytes)
        return self._pread(shard, size, offset)

    def member_path(self, index: int, ext: str) -> str:
        shard, choice, _ = self._member(index, ext)
        key = self.shards[shard].samples[self._where[index][1]][0]
        return f"{self.shards[shard].path}:{key}.{choice}"

    def _text(self, index: int, ext: str) -> str:
        """A label or feature member as text: at most ``MAX_TEXT_BYTES`` of UTF-8."""
        shard, _, (offset, size) = self._member(index, ext)
        if size > MAX_TEXT_BYTES:
            raise DatasetError(
                f"{self.member_path(index, ext)}: expected a label or number of at most "
                f"{MAX_TEXT_BYTES} bytes (webdataset.MAX_TEXT_BYTES), got {size}"
            )
        data = self._pread(shard, size, offset).tobytes()
        try:
            return data.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            bad = data[exc.start : exc.end].hex()
            raise DatasetError(
                f"{self.member_path(index, ext)}: expected UTF-8 text, got bytes 0x{bad} at "
                f"byte {exc.start + 1}"
            ) from None

    # -- binding -------------------------------------------------------------------------------
    def bind(self, layout: Layout) -> BoundSource:
        """Check that every sample has the members ``layout`` uses; return its readers."""
        everyone = range(len(self))
        if layout.audio is not None:
            check_audio_column(layout.images[0].key)
        for column in layout.images:
            for index in everyone:
                self._member(index, column.key)
        labels: list[Callable[[int], int]] = []
        num_classes = None
        for position, output in enumerate(layout.labels):
            cells = [self._text(i, output.column) for i in everyone]
            where = functools.partial(self._cell, column=output.column)
            values, classes = resolve_labels(cells, output, where)
            labels.append(values.__getitem__)
            num_classes = classes if position == 0 else num_classes
        features: list[Callable[[int], np.ndarray]] = []
        for group in layout.features:
            matrix = np.empty((len(self), len(group.columns)), dtype=np.float32)
            for j, ext in enumerate(group.columns):
                for i in everyone:
                    matrix[i, j] = parse_number(self._text(i, ext), self._cell(i, ext))
            features.append(matrix.__getitem__)
        if layout.boxes is not None:
            raise DatasetError(
                f"WebDataset: expected no 'boxes' output (use Coco), got {layout.boxes.name!r}"
            )
        self._bound = BoundSource(
            dataset=self,
            images=tuple(functools.partial(self._read, c.key) for c in layout.images),
            image_paths=tuple(functools.partial(self._path, c.key) for c in layout.images),
            labels=tuple(labels),
            features=tuple(features),
            num_classes=num_classes,
        )
        self._audio_column = None if layout.audio is None else layout.images[0].key
        self._image_columns = tuple(c.key for c in layout.images)
        if self._remote is not None:
            self._remote.reads.set_plan(self._planned)
        return self._bound

    def durations(self) -> np.ndarray:
        """Seconds per sample of the bound audio column (float64), from the members' headers:
        computed once per shard and cached next to its index (see :mod:`.webdataset_audio`)."""
        column = self._audio_column
        if column is None:
            raise DatasetError("WebDataset.durations: expected it bound to an audio spec first")
        if self._remote is not None:
            raise DatasetError("WebDataset.durations: expected local shards, got remote ones")
        if column not in self._durations:
            parts = [shard_durations(self, s, column) for s in range(len(self.shards))]
            self._durations[column] = np.concatenate(parts)
        return self._durations[column].copy()

    def _read(self, ext: str, index: int) -> np.ndarray:
        return self.read_member(index, ext)

    def _path(self, ext: str, index: int) -> str:
        return self.member_path(index, ext)

    def _cell(self, index: int, column: str) -> str:
        shard, position = self._where[index]
        key = self.shards[shard].samples[position][0]
        return f"{Path(self.shards[shard].path).name} sample {key!r}, column {column!r}"

    # -- SampleSource --------------------------------------------------------------------------
    def read_bytes(self, index: int) -> np.ndarray:
        if self._bound is None:
            raise DatasetError("WebDataset: expected a DataLoader to bind it to a spec first")
        return self._bound.images[0](index)

    def label(self, index: int) -> int:
        bound = self._bound
        return bound.labels[0](index) if bound is not None and bound.labels else -1

    def path(self, index: int) -> str:
        shard, position = self._where[index]
        return f"{self.shards[shard].path}:{self.shards[shard].samples[position][0]}"

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for shard in self.shards:
            digest.update(f"{Path(shard.path).name}\0{len(shard.samples)}\n".encode())
            for key, members in shard.samples:
                digest.update(f"{key}\0{','.join(sorted(members))}\n".encode())
        return digest.hexdigest()[:16]

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
        if self._remote is not None:
            self._remote.reads.close()

    def __del__(self) -> None:
        # At interpreter shutdown os may be gone already.
        with contextlib.suppress(Exception):
            self.close()
