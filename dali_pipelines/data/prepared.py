"""``Prepared``: the output of ``dali-pipelines prepare`` read back as a source.

A prepared folder (:mod:`.prepared_format`) holds WebDataset tar shards, a columnar index per
shard and ``prepared.json``. Opening it checks what a read relies on, so a damaged or forged
folder fails here, naming the file, rather than mid-epoch:

* the manifest is complete (an interrupted run is refused), of this format and version;
* every shard exists, is a plain file name inside ``shards/``, and has the manifest's size
  (``verify=True`` also hashes it against the manifest's SHA-256: a full read of the data);
* every index names its shard with the manifest's size and SHA-256, has one entry per sample
  in every column, and every member extent lies inside its tar (a forged index cannot make a
  read allocate what it says); boxes rows lie inside the index's box table.

The index becomes a few numpy arrays (per image column: shard, offset, size; labels int64;
features float32; box row offsets), so binding a million samples builds arrays, not objects.
A read is a slice of a read-only memory map of the shard (opened on first use, per process:
a forked DALI or loader worker maps again), returned as a plain ndarray view, no copy.

``bind(layout)`` serves the spec's columns by their stored names: image columns by key, labels
and boxes by column, feature groups column by column. A label output declaring ``classes``
must match the stored class names. Boxes are in pixels of the stored image (scaled exactly
when prepare re-encoded it). A column stored raw (``prepare --raw``: every member ``.npy``) is
bound with the ``npy`` encoding, so executors take its pixels without a decode; each read
checks the member's header (:func:`~.npy.parse_npy`) and its size against the index, and a bad
one is refused as a bad sample naming the member.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DatasetError, FileRefusedError
from .columns import BoundSource, Boxes
from .npy import Encoding, NpyError, column_encoding, parse_npy
from .prepared_bind import bind_prepared
from .prepared_files import LocalFiles, RemoteFiles
from .prepared_format import FORMAT, MANIFEST_NAME, VERSION, PreparedManifest
from .prepared_index import (
    TAR_BLOCK,
    BoxColumn,
    ImageColumn,
    box_column,
    check_columns,
    gather,
    image_column,
    tar_header_name,
)
from .read import DEFAULT_MAX_FILE_BYTES, check_limit, too_large
from .storage.options import StorageOptions
from .storage.readahead import Read
from .storage.urls import ObjectUrl, is_remote, local_path

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..plan.layout import Layout


def is_prepared(path: str | os.PathLike[str]) -> bool:
    """``path`` is a folder holding ``prepared.json`` (the output of ``dali-pipelines prepare``)."""
    try:
        return os.path.isdir(path) and os.path.isfile(os.path.join(path, MANIFEST_NAME))
    except (OSError, ValueError):  # ValueError: a path with a NUL byte
        return False


class Prepared:
    """Prepared data (``dali-pipelines prepare OUT``); samples in shard order.

    ``verify=True`` hashes every shard against the manifest (reads all the data once);
    ``max_file_bytes`` bounds one image member as ``ImageFolder`` bounds a file.
    """

    #: The runner's read-ahead hook: set for remote data only (local reads need none).
    plan_reads: Callable[..., None] | None = None

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        verify: bool = False,
        max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
        storage: StorageOptions | None = None,
    ):
        self.max_file_bytes = check_limit(max_file_bytes, "Prepared.max_file_bytes")
        self._files: LocalFiles | RemoteFiles
        if is_remote(os.fspath(root)):  # s3://bucket/prepared: ranged reads of its shards
            self._files = RemoteFiles(ObjectUrl(os.fspath(root).rstrip("/")), storage)
            self.plan_reads = self._files.reads.plan_reads
        else:
            self._files = LocalFiles(Path(local_path(root)))
            if not self._files.root.is_dir():
                raise DatasetError(
                    f"Prepared.root: expected the output folder of dali-pipelines prepare, got "
                    f"{str(root)!r}"
                )
        #: The folder (a ``Path``) or the URL prefix (an ``ObjectUrl``, shown redacted).
        self.root: Path | ObjectUrl = self._files.root
        where = self._files.where
        manifest = self._files.manifest()
        if not manifest.complete:
            raise DatasetError(
                f"{where}: complete: expected true, got false (an interrupted prepare run: "
                "rerun dali-pipelines prepare with the same arguments to finish it)"
            )
        if not manifest.shards:
            raise DatasetError(f"{where}: shards: expected at least one shard, got none")
        self._manifest = manifest
        #: The shards' paths (remote: their URLs, redacted), for messages.
        self.paths: tuple[str, ...] = self._files.check_shards(manifest.shards, verify)
        indexes = [self._files.index(entry) for entry in manifest.shards]
        counts = np.array([len(index.keys) for index in indexes], dtype=np.int64)
        #: Global index of each shard's first sample (and the total at the end).
        self._starts = np.concatenate([[0], np.cumsum(counts)])
        total = int(self._starts[-1])
        if total == 0:
            raise DatasetError(f"{where}: expected samples in the shards, got none")
        #: Shard of each sample.
        self._shard = np.repeat(np.arange(len(indexes), dtype=np.int32), counts)
        self._source_index = np.concatenate(
            [np.asarray(index.source_index, dtype=np.int64) for index in indexes]
        )
        self._keys = tuple(index.keys for index in indexes)
        self._sources = tuple(index.paths for index in indexes)
        first = indexes[0]
        check_columns(self.paths, indexes)
        self.images: dict[str, ImageColumn] = {
            name: image_column(indexes, name) for name in first.images
        }
        self.labels: dict[str, np.ndarray] = {
            name: gather(indexes, "labels", name, np.int64) for name in first.labels
        }
        self.features: dict[str, np.ndarray] = {
            name: gather(indexes, "features", name, np.float32) for name in first.features
        }
        self.boxes_columns: dict[str, BoxColumn] = {
            name: box_column(indexes, name) for name in first.boxes
        }
        for name, values in self.labels.items():
            if len(values) and int(values.min()) < 0:
                raise DatasetError(
                    f"{where}: labels {name!r}: expected class indices >= 0, got "
                    f"{int(values.min())}"
                )
        #: Class names of the first label column (``None``: no names stored, or no labels).
        self.classes: tuple[str, ...] | None = (
            manifest.classes.get(next(iter(self.labels))) if self.labels else None
        )
        self._check_headers()
        self._bound: BoundSource | None = None
        self._image_keys: tuple[str, ...] = ()
        self._raw: set[str] = set()

    # -- reading -------------------------------------------------------------------------------
    def _with_header(self, shard: int, offset: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(the tar header block before a member's data, the data): one read of both (``size``
        0: the header only, read without mapping the shard)."""
        lead = TAR_BLOCK if offset >= TAR_BLOCK else 0
        read = self._files.read if size else self._files.peek
        block = read(shard, offset - lead, offset + size)
        return block[:lead], block[lead:]

    def _planned(self, index: int) -> list[Read]:
        """The ranges sample ``index``'s bound image columns read (for the read-ahead)."""
        files = self._files
        assert isinstance(files, RemoteFiles)
        reads = []
        for column in self._image_keys:
            found = self.images[column]
            offset, size = int(found.offset[index]), int(found.size[index])
            if self.max_file_bytes is None or size <= self.max_file_bytes:
                lead = TAR_BLOCK if offset >= TAR_BLOCK else 0
                reads.append(files.range(int(self._shard[index]), offset - lead, offset + size))
        return reads

    def _column(self, column: str) -> ImageColumn:
        found = self.images.get(column)
        if found is None:
            raise DatasetError(
                f"{self.root}: expected a stored image column, got {column!r}; {self._holds()}"
            )
        return found

    def read_member(self, index: int, column: str) -> np.ndarray:
        """The stored bytes of image column ``column`` of sample ``index`` (a read-only view)."""
        found = self._column(column)
        shard, position = self._position(index)
        index = int(self._starts[shard]) + position
        offset, size = int(found.offset[index]), int(found.size[index])
        if self.max_file_bytes is not None and size > self.max_file_bytes:
            raise too_large(self.member_path(index, column), size, self.max_file_bytes)
        header, data = self._with_header(shard, offset, size)
        if tar_header_name(header) != self._member(shard, position, column):
            self._mismatch(shard, position, column, offset, header)
        return data

    def _member(self, shard: int, position: int, column: str) -> str:
        ext = self.images[column].ext[shard][position]
        return f"{self._keys[shard][position]}.{column}.{ext}"

    def _mismatch(self, shard: int, position: int, column: str, offset: int, header: Any) -> None:
        """The tar header before a member's data must name it: an index whose offsets do not
        match its tar (another run's, a faulty writer's) fails naming both, rather than as
        bytes that do not decode."""
        name = self._member(shard, position, column)
        found = tar_header_name(header)
        got = "no tar header before it" if found is None else f"the data of {found!r}"
        raise DatasetError(
            f"{self.paths[shard]}: expected member {name!r} at offset {offset} (its index), got "
            f"{got} (an index that does not match its shard: prepare the data again)"
        )

    def _check_headers(self) -> None:
        """Each shard's first and last member of every image column is where its index says
        (two small reads a shard and column: a systematic offset error fails here)."""
        for shard in range(len(self.paths)):
            count = int(self._starts[shard + 1] - self._starts[shard])
            for column, found in self.images.items():
                for position in {0, count - 1} if count else ():
                    offset = int(found.offset[int(self._starts[shard]) + position])
                    header, _ = self._with_header(shard, offset, 0)
                    if tar_header_name(header) != self._member(shard, position, column):
                        self._mismatch(shard, position, column, offset, header)

    def extent(self, index: int, column: str) -> tuple[str, int, int]:
        """(shard path, data offset, size) of image column ``column`` of sample ``index``."""
        found = self._column(column)
        shard, position = self._position(index)
        index = int(self._starts[shard]) + position
        return self.paths[shard], int(found.offset[index]), int(found.size[index])

    def _position(self, index: int) -> tuple[int, int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"Prepared: index {index} out of range for {len(self)} samples")
        index = index % len(self)
        shard = int(self._shard[index])
        return shard, index - int(self._starts[shard])

    def member_path(self, index: int, column: str) -> str:
        """``<shard>:<member> (from <source file>)``: the stored member and its original."""
        shard, position = self._position(index)
        ext = self._column(column).ext[shard][position]
        key = self._keys[shard][position]
        source = self._sources[shard][position]
        return f"{self.paths[shard]}:{key}.{column}.{ext} (from {source})"

    def image_sizes(self, column: str | None = None) -> np.ndarray:
        """(N, 2) int64 (height, width) of the stored images of ``column`` (default: the bound
        first image column, else the first stored one)."""
        found = self._column(self._default_column() if column is None else column)
        return np.stack([found.height, found.width], axis=1)

    def source_sizes(self, column: str | None = None) -> np.ndarray:
        """(N, 2) int64 (height, width) of the source images the stored ones came from."""
        found = self._column(self._default_column() if column is None else column)
        return np.stack([found.source_height, found.source_width], axis=1)

    def source_indices(self) -> np.ndarray:
        """(N,) int64: each sample's index in the source it was prepared from (bad files left
        out make gaps)."""
        return self._source_index.copy()

    def boxes(self, index: int) -> Boxes:
        """(K, 4) float32 x1, y1, x2, y2 in stored pixels and (K,) int64 classes of ``index``
        (the bound boxes column, else the only stored one; none when none is stored)."""
        if self._bound is not None and self._bound.boxes is not None:
            return self._bound.boxes(index)
        if not self.boxes_columns:
            return np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=np.int64)
        if len(self.boxes_columns) != 1:
            raise DatasetError(
                f"{self.root}: expected one stored boxes column, got {sorted(self.boxes_columns)}"
            )
        return self._boxes(next(iter(self.boxes_columns)), index)

    def _boxes(self, column: str, index: int) -> Boxes:
        found = self.boxes_columns[column]
        start = int(found.start[index])
        stop = start + int(found.count[index])
        # Copies (a few rows): callers own what they get, as Coco's arrays are theirs.
        return found.xyxy[start:stop].copy(), found.labels[start:stop].copy()

    def _holds(self) -> str:
        parts = [
            f"images {sorted(self.images)}",
            f"labels {sorted(self.labels)}",
            f"features {sorted(self.features)}",
            f"boxes {sorted(self.boxes_columns)}",
        ]
        return "the prepared data holds " + ", ".join(parts)

    def _default_column(self) -> str:
        if self._bound is not None and self._image_keys:
            return self._image_keys[0]
        return next(iter(self.images))

    # -- binding -------------------------------------------------------------------------------
    def bind(self, layout: Layout) -> BoundSource:
        """The readers of ``layout``'s columns; :class:`DatasetError` names a missing column
        and lists what the prepared data holds (:func:`~.prepared_bind.bind_prepared`)."""
        self._bound = bind_prepared(self, layout)
        self._image_keys = tuple(c.key for c in layout.images)
        self._raw = {c.key for c in layout.images if self.encoding(c.key) == "npy"}
        if isinstance(self._files, RemoteFiles):
            self._files.reads.set_plan(self._planned)
        return self._bound

    def encoding(self, column: str) -> Encoding:
        """``npy`` when the column was stored raw (``prepare --raw``), else ``encoded``."""
        exts = {ext for shard in self.images[column].ext for ext in shard}
        return column_encoding(exts, f"{self.root}: images {column!r}")

    def _read(self, column: str, index: int) -> np.ndarray:
        data = self.read_member(index, column)
        if column in self._raw:  # the header against the index (untrusted data)
            shard, position = self._position(index)
            at = int(self._starts[shard]) + position
            found = self.images[column]
            size = (int(found.height[at]), int(found.width[at]))
            try:
                shape = parse_npy(data).shape
            except NpyError as exc:
                raise FileRefusedError(
                    self.member_path(index, column), str(exc), "corrupt"
                ) from None
            if shape[:2] != size:
                got = f"{shape[0]}x{shape[1]}"
                reason = f"npy shape: expected {size[0]}x{size[1]} (the index), got {got}"
                raise FileRefusedError(self.member_path(index, column), reason, "corrupt")
        return data

    def _path(self, column: str, index: int) -> str:
        return self.member_path(index, column)

    # -- SampleSource --------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._starts[-1])

    def __repr__(self) -> str:
        return (
            f"Prepared({str(self.root)!r}, shards={len(self.paths)}, samples={len(self)}, "
            f"images={sorted(self.images)})"
        )

    @property
    def manifest(self) -> PreparedManifest:
        return self._manifest

    @property
    def shard_sizes(self) -> list[int]:
        return [int(n) for n in np.diff(self._starts)]

    def read_bytes(self, index: int) -> np.ndarray:
        """The first image column's bytes (the bound layout's, else the first stored one)."""
        return self.read_member(index, self._default_column())

    def label(self, index: int) -> int:
        """The first label (the bound layout's, else the first stored column); -1 without."""
        bound = self._bound
        if bound is not None:
            return bound.labels[0](index) if bound.labels else -1
        if not self.labels:
            return -1
        return int(next(iter(self.labels.values()))[index])

    def path(self, index: int) -> str:
        return self.member_path(index, self._default_column())

    def fingerprint(self) -> str:
        """From the source's fingerprint and the shards' SHA-256 (no shard is read)."""
        digest = hashlib.sha256(f"{FORMAT}\0{VERSION}\0".encode())
        digest.update(self._manifest.source.fingerprint.encode())
        for entry in self._manifest.shards:
            digest.update(f"\0{entry.name}\0{entry.samples}\0{entry.sha256}".encode())
        return digest.hexdigest()[:16]

    def close(self) -> None:
        """Drop the memory maps (arrays already returned keep theirs alive), or end the
        remote read-ahead."""
        self._files.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


__all__ = ["Prepared", "is_prepared"]
