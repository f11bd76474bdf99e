"""``Manifest``: a CSV, JSONL or Parquet table, one row per sample, columns bound by a spec.

Image cells are paths relative to the manifest's folder and may not leave it: ``..`` parts,
absolute paths and symlinks resolving outside are refused, naming the row, so a manifest from
elsewhere cannot make the loader read other files. Every cell the spec uses is checked when the
loader binds the manifest (before the first batch): a missing file, an empty cell, a label that
is neither an index nor a class name and a feature that is not a finite number each raise
:class:`DatasetError` as ``<manifest> row R, column 'C': expected X, got Y`` (rows count from 1,
the header excluded). An audio spec's column holds paths too: whole files, or segments given
by offset and duration columns (:mod:`.manifest_audio`; no audio file is opened to bind).

Parsing never changes which file a row names: CSV goes through the ``csv`` module record by
record (a quoted newline stays in its cell), JSONL splits at ``\n`` only (U+2028, U+0085 and
other line separators are text inside a JSON string). A manifest from elsewhere cannot exhaust
memory: :class:`ManifestLimits` bounds the file's bytes, its rows, the bytes of one row and the
columns (overridable defaults); only the encoded file is kept, and a row is decoded and parsed
when it is needed, so only the cells a spec uses are ever held as Python objects.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DatasetError
from .columns import BoundSource, read_data_file
from .manifest_audio import ManifestAudio, segment_columns
from .manifest_csv import is_plain, uniform_columns
from .manifest_mapped import BindCache, BoundColumns
from .manifest_parquet import ParquetTable
from .manifest_parse import ManifestLimits, ManifestTable
from .manifest_paths import resolve_paths
from .manifest_remote import ObjectColumn, RemoteManifest
from .manifest_values import check_empty, feature_matrix, label_array
from .paths import read_file
from .read import DEFAULT_MAX_FILE_BYTES, check_limit
from .storage.options import StorageOptions
from .storage.urls import ObjectUrl, is_remote, local_path

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..plan.layout import Layout


class Manifest(ManifestTable):
    """Rows of a ``.csv`` (header line first) or ``.jsonl`` (one JSON object per line) file,
    local or remote (``s3://bucket/train.csv``: docs/storage.md)."""

    #: The runner's read-ahead hook: set for a remote manifest only.
    plan_reads: Callable[..., None] | None = None

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        check_files: bool = True,
        limits: ManifestLimits | None = None,
        max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
        storage: StorageOptions | None = None,
        bind_cache: str | os.PathLike[str] | None = None,
    ):
        self.check_files = check_files
        #: Bound columns written once and mapped by later binds (:mod:`.manifest_mapped`).
        self.bind_cache = None if bind_cache is None else BindCache(bind_cache)
        #: Bytes one image file or object may hold; ``None``: no bound.
        self.max_file_bytes = check_limit(max_file_bytes, "Manifest.max_file_bytes")
        self.limits = ManifestLimits() if limits is None else limits
        if not isinstance(self.limits, ManifestLimits):
            got = type(self.limits).__name__
            raise DatasetError(f"Manifest.limits: expected a ManifestLimits, got {got}")
        #: A remote manifest's objects and reads (docs/storage.md); ``None``: a local file.
        self._remote = RemoteManifest(ObjectUrl(str(path)), storage) if is_remote(path) else None
        self.file: Path | ObjectUrl = Path(local_path(path))
        if self._remote is not None:
            self.file, self.root = self._remote.url, str(self._remote.root)
            self._remote.max_file_bytes = self.max_file_bytes
            self.plan_reads = self._remote.reads.plan_reads
        elif not self.file.is_file():
            raise DatasetError(f"Manifest.path: expected a CSV or JSONL file, got {str(path)!r}")
        else:  # resolved once: every image path must stay under this folder
            self.root = os.path.realpath(self.file.parent)
        suffix = self.file.suffix.lower()
        if suffix not in (".csv", ".jsonl", ".ndjson", ".parquet"):
            raise DatasetError(
                f"{self.file}: expected a .csv, .jsonl or .parquet file, got {suffix!r}"
            )
        self._csv = suffix == ".csv"
        what = "ManifestLimits.max_bytes"
        if isinstance(self.file, Path):
            self._raw = read_data_file(self.file, self.limits.max_bytes, what)
        elif self._remote is not None:
            self._raw = self._remote.raw(self.limits.max_bytes, what)
        self._parquet = ParquetTable(self.file, self._raw) if suffix == ".parquet" else None
        self._digest = hashlib.sha256(self._raw).hexdigest()[:16]
        # No quotes, NUL or lone CR, UTF-8, lines within the limit: records are split lines.
        self._plain = self._csv and is_plain(self._raw, self.limits.max_row_bytes)
        self._uniform = False  # plain, and every line a record of one cell per column
        self.columns: tuple[str, ...] = ()
        self.columns, self._count = self._scan()
        if not self._count:
            raise DatasetError(f"{self.file}: expected at least one row, got none")
        self._bound: BoundSource | None = None
        self._label_only: set[str] = set()  # columns binding reads as labels only
        self._audio: ManifestAudio | None = None  # an audio layout's column, once bound

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every row as a dict, parsed anew on each access (the manifest keeps its bytes only)."""
        return list(self._records())

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"Manifest(file={str(self.file)!r}, rows={len(self)}, columns={list(self.columns)})"

    # -- binding -------------------------------------------------------------------------------
    def _where(self, row: int, column: str) -> str:
        return f"{self.file.name} row {row + 1}, column {column!r}"

    def _table(self, columns: Iterable[str]) -> dict[str, list[Any]]:
        """The cells of ``columns`` in one pass over the rows; an empty cell names its row."""
        wanted = list(dict.fromkeys(columns))
        for column in wanted:
            if column not in self.columns:
                raise DatasetError(
                    f"{self.file.name}: expected a column {column!r} (from the spec's source), "
                    f"got columns {list(self.columns)[:50]}"
                )
        if self._csv:
            coded = [c in self._label_only for c in wanted]  # kept as distinct cells + ids
            return check_empty(self._csv_table(wanted, coded), self._where)
        if self._parquet is not None:
            return check_empty({c: self._parquet.column(c) for c in wanted}, self._where)
        table: dict[str, list[Any]] = {column: [] for column in wanted}
        for row, values in enumerate(self._records()):
            for column in wanted:
                value = values.get(column)
                if value is None or (isinstance(value, str) and not value.strip()):
                    where = self._where(row, column)
                    raise DatasetError(f"{where}: expected a value, got an empty cell")
                table[column].append(value)
        return table

    def _csv_table(self, wanted: list[str], coded: list[bool]) -> dict[str, Any]:
        """:meth:`_table` for CSV: cells by position, then one empty-cell check per column."""
        positions = [self.columns.index(column) for column in wanted]
        cells: list[Any] = [[] for _ in wanted]
        if self._uniform:
            cells = uniform_columns(self._raw, len(self.columns), positions, coded)
        for record in () if self._uniform else self._csv_rows():
            if len(record) < len(self.columns):  # missing cells: empty
                record = record + [""] * (len(self.columns) - len(record))
            for values, position in zip(cells, positions):
                values.append(record[position])
        return dict(zip(wanted, cells))

    def bind(self, layout: Layout) -> BoundSource:
        """Check every cell ``layout`` uses and return its readers (the loader calls this)."""
        if layout.boxes is not None:
            raise DatasetError(
                f"{self.file.name}: expected no 'boxes' output (a manifest holds no boxes; use "
                f"Coco), got {layout.boxes.name!r}"
            )
        labels_only = {o.column for o in layout.labels}
        self._label_only = labels_only.difference(
            [c.key for c in layout.images]
            + segment_columns(layout.audio)
            + [c for o in layout.features for c in o.columns]
        )
        if layout.audio is None and self.bind_cache is not None and self._remote is None:
            key = self.bind_cache.key(self._cache_parts(layout))
            bound = self.bind_cache.bind(key, lambda: self._bind_columns(layout)[0])
            table: dict[str, Any] = {}
        else:
            bound, table = self._bind_columns(layout)
        image_files = bound.files
        labels = [values.item for values in bound.labels]  # a Python int per row
        num_classes = bound.num_classes
        features = [functools.partial(_feature_row, m) for m in bound.features]
        readers: list[Callable[[int], np.ndarray]] = [self._reader(f) for f in image_files]
        paths: list[Callable[[int], str]] = [files.__getitem__ for files in image_files]
        self._audio = None
        if layout.audio is not None and self._remote is not None:
            raise DatasetError(f"{self.file}: expected a local manifest for audio, got a URL")
        if layout.audio is not None:  # whole files or segments (see manifest_audio)
            self._audio = ManifestAudio(
                self.file.name, list(image_files[0]), table, layout.audio, self._where
            )
            readers, paths = [self._audio.read], [self._audio.path]
        self._bound = BoundSource(
            dataset=self,
            images=tuple(readers),
            image_paths=tuple(paths),
            labels=tuple(labels),
            features=tuple(features),
            num_classes=num_classes,
        )
        return self._bound

    def _bind_columns(self, layout: Layout) -> tuple[BoundColumns, dict[str, Any]]:
        """Every cell ``layout`` uses checked: paths, label indices, feature matrices."""
        table = self._table(
            [c.key for c in layout.images]
            + segment_columns(layout.audio)
            + [o.column for o in layout.labels]
            + [c for o in layout.features for c in o.columns]
        )
        files = [self._files(c.key, table[c.key]) for c in layout.images]
        labels, num_classes = [], None
        for position, output in enumerate(layout.labels):
            where = functools.partial(self._where, column=output.column)
            values, classes = label_array(table[output.column], output, where, self._csv)
            labels.append(values)
            if position == 0:
                num_classes = classes
        features = [
            feature_matrix(table, o.columns, self._count, self._where, self._csv)
            for o in layout.features
        ]
        return BoundColumns(files, labels, num_classes, features), table

    def _cache_parts(self, layout: Layout) -> list[Any]:
        """What fixes the bound columns, for the bind cache's key."""
        return [
            self._digest,
            self.root,
            self.check_files,
            [c.key for c in layout.images],
            [repr(o) for o in layout.labels],
            [list(o.columns) for o in layout.features],
        ]

    def _files(self, column: str, cells: Sequence[Any]) -> Sequence[str]:
        """A path column's checked files (local) or objects (remote)."""
        where = functools.partial(self._where, column=column)
        if self._remote is not None:
            return self._remote.resolve(cells, where, self.check_files)
        what = "the manifest's folder"
        return resolve_paths(self.root, cells, where, what, self.check_files)

    def _reader(self, files: Sequence[str]) -> Callable[[int], np.ndarray]:
        if isinstance(files, ObjectColumn) and self._remote is not None:
            self._remote.reads.set_plan(self._remote.planned)
            return functools.partial(self._remote.read, files)
        return functools.partial(read_file, files, max_bytes=self.max_file_bytes)

    def durations(self) -> np.ndarray:
        """Seconds per row of an audio manifest (float64): its duration column, else the files'
        headers, read once (see :meth:`.manifest_audio.ManifestAudio.durations` for the cost)."""
        if self._audio is None:
            raise DatasetError(
                f"{self.file.name}: expected a manifest bound to an audio spec's source, got "
                f"{'an image spec' if self._bound is not None else 'an unbound manifest'}"
            )
        return self._audio.durations()

    # -- SampleSource --------------------------------------------------------------------------
    def _require_bound(self) -> BoundSource:
        if self._bound is None:
            raise DatasetError(
                f"{self.file.name}: expected a DataLoader to bind the manifest to a spec's "
                "source first, got an unbound manifest"
            )
        return self._bound

    def read_bytes(self, index: int) -> np.ndarray:
        """The first image column's bytes (after binding)."""
        return self._require_bound().images[0](index)

    def label(self, index: int) -> int:
        bound = self._require_bound()
        return bound.labels[0](index) if bound.labels else -1

    def path(self, index: int) -> str:
        return f"{self.file.name} row {index + 1}"

    def fingerprint(self) -> str:
        return self._digest


def _feature_row(matrix: np.ndarray, index: int) -> np.ndarray:
    """Row ``index`` of a feature matrix (a copy when the matrix is a read-only map)."""
    row = matrix[index]
    return row if row.flags.writeable else np.array(row)
