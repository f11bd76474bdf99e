"""Parquet manifests through the optional ``pyarrow`` (``pip install pyarrow``, or the
``[parquet]`` extra).

The file's bytes are read under ``ManifestLimits.max_bytes`` like any manifest's, then parsed by
``pyarrow.parquet``; the column names, the row count and the column count are checked against
the same limits. Cells arrive typed: strings, ints, floats, ``None`` for a null (an empty cell);
the spec's columns go through the same checks as a JSONL manifest's (a path must be a string, a
label an int or a class name, a feature a number). The table stays columnar (Arrow buffers);
only the cells a spec uses become Python objects, when the manifest is bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from .storage.urls import ObjectUrl


class ParquetTable:
    """The Arrow table of one Parquet manifest."""

    def __init__(self, file: Path | ObjectUrl, raw: bytes):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise DatasetError(
                f"{file}: expected pyarrow to read a Parquet manifest (pip install pyarrow, or "
                "pip install 'dali-pipelines[parquet]'), got no module named 'pyarrow'"
            ) from None
        try:
            self.table = pq.read_table(pa.BufferReader(raw))
        except (pa.ArrowException, OSError, ValueError) as exc:
            got = f"an unreadable file ({str(exc)[:200]})"
            raise DatasetError(f"{file}: expected a Parquet file, got {got}") from None
        self.columns = tuple(str(name) for name in self.table.column_names)
        seen: set[str] = set()
        for column in self.columns:
            if column in seen:
                raise DatasetError(f"{file}: expected distinct column names, got {column!r} twice")
            seen.add(column)
        self.file = file

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def column(self, name: str) -> list[Any]:
        """The cells of one column as Python values (``None`` for a null)."""
        return list(self.table.column(name).to_pylist())

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row as a dict, a batch of rows at a time."""
        for batch in self.table.to_batches(max_chunksize=1 << 14):
            yield from batch.to_pylist()
