"""A manifest file's records: bounded parsing of CSV, JSONL and Parquet (``Manifest``'s base).

The file is held as its bytes only; records are decoded and parsed when they are needed, each
line and row checked against :class:`ManifestLimits` with the line named in the error.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from .manifest_csv import plain_records, uniform_rows
from .manifest_parquet import ParquetTable
from .storage.urls import ObjectUrl


@dataclass(frozen=True)
class ManifestLimits:
    """Bounds on one manifest file; each may be raised for a large, trusted manifest.

    Memory while binding is about the file's size plus, per row, the cells the spec uses (a
    path string, a label, the features): about 0.3 KB a row for an image and a label.
    """

    #: The file's size (1 GiB: an ImageNet-1k manifest is ~80 MB).
    max_bytes: int = 1 << 30
    #: Data rows (10 million).
    max_rows: int = 10_000_000
    #: Bytes of one row: a JSONL line or a CSV record with its quoted newlines (1 MiB).
    max_row_bytes: int = 1 << 20
    #: Distinct column names (10,000): a JSONL file may name new keys on every line.
    max_columns: int = 10_000

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if type(value) is not int or value < 1:
                raise DatasetError(
                    f"ManifestLimits.{field.name}: expected an int >= 1, got {value!r}"
                )


class ManifestTable:
    """The records of a manifest's bytes; :class:`~.manifest.Manifest` binds them."""

    file: Path | ObjectUrl
    limits: ManifestLimits
    columns: tuple[str, ...]
    _raw: bytes
    _csv: bool
    _plain: bool
    _uniform: bool
    _parquet: ParquetTable | None

    # -- parsing -------------------------------------------------------------------------------
    def _lines(self) -> Iterator[tuple[int, str, int]]:
        """(line number, decoded line with its ``\\n``, bytes) per ``\\n``-terminated line."""
        raw, limit = self._raw, self.limits.max_row_bytes
        start = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
        number = 0
        while start < len(raw):
            end = raw.find(b"\n", start)
            end = len(raw) if end < 0 else end + 1
            number += 1
            if end - start > limit:
                raise DatasetError(
                    f"{self.file} line {number}: expected at most {limit} bytes "
                    f"(ManifestLimits.max_row_bytes), got {end - start}"
                )
            try:
                line = raw[start:end].decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = raw[start + exc.start : start + exc.end].hex()
                raise DatasetError(
                    f"{self.file} line {number}: expected UTF-8 text, got bytes 0x{bad} at byte "
                    f"{exc.start + 1} of the line"
                ) from None
            yield number, line, end - start
            start = end

    def _csv_records(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, cells) per CSV record; blank lines are skipped, as ``DictReader`` does."""
        pending = [0]  # bytes of the record being read: a quoted cell may span lines
        limit = self.limits.max_row_bytes

        def lines() -> Iterator[str]:
            for number, line, size in self._lines():
                pending[0] += size
                if pending[0] > limit:
                    raise DatasetError(
                        f"{self.file} line {number}: expected a row of at most {limit} bytes "
                        "(ManifestLimits.max_row_bytes), got more"
                    )
                yield line

        reader = csv.reader(lines())
        try:
            for record in reader:
                pending[0] = 0
                if record:
                    yield reader.line_num, record
        except csv.Error as exc:
            got = f"malformed CSV ({exc})"
            raise DatasetError(
                f"{self.file} line {reader.line_num}: expected CSV, got {got}"
            ) from None

    def _jsonl_records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for number, line, _ in self._lines():
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, RecursionError) as exc:  # JSONDecodeError, > 4300 digits, nesting
                where = f"{self.file} line {number}"
                got = f"invalid JSON ({str(exc)[:200]})"
                raise DatasetError(f"{where}: expected a JSON object, got {got}") from None
            if not isinstance(row, dict):
                got = type(row).__name__
                raise DatasetError(f"{self.file} line {number}: expected an object, got {got}")
            yield number, row

    def _csv_all(self) -> Iterator[list[str]]:
        """Every CSV record, the header first (:mod:`.manifest_csv` when the file is plain)."""
        if self._plain:
            return plain_records(self._raw)
        return (record for _, record in self._csv_records())

    def _csv_rows(self) -> Iterator[list[str]]:
        """Every CSV data record, checked to hold at most one cell per column."""
        width = len(self.columns)
        records = self._csv_all()
        next(records, None)  # the header
        for number, record in enumerate(records, 1):
            if len(record) > width:  # more cells than header names
                raise DatasetError(f"{self.file} row {number}: expected {width} cells, got more")
            yield record

    def _records(self) -> Iterator[dict[str, Any]]:
        """Every data row as a dict (a CSV row's missing cells are ``None``)."""
        if self._parquet is not None:
            yield from self._parquet.rows()
            return
        if not self._csv:
            yield from (row for _, row in self._jsonl_records())
            return
        width = len(self.columns)
        for record in self._csv_rows():
            yield dict(zip(self.columns, record + [None] * (width - len(record))))

    def _scan(self) -> tuple[tuple[str, ...], int]:
        """The column names and the row count, every row checked against the limits."""
        columns: dict[str, None] = {}
        if self._parquet is not None:
            self._check_columns(len(self._parquet.columns))
            self._check_rows(len(self._parquet))
            return self._parquet.columns, len(self._parquet)
        if self._csv:
            header = next(self._csv_all(), [])
            if not header:
                raise DatasetError(
                    f"{self.file}: expected a header line naming the columns, got none"
                )
            self._check_columns(len(header))
            for column in header:
                if column in columns:
                    raise DatasetError(
                        f"{self.file}: expected distinct column names, got {column!r} twice"
                    )
                columns[column] = None
            self.columns = tuple(columns)
            rows = uniform_rows(self._raw, len(self.columns)) if self._plain else None
            if rows is not None:
                self._uniform = True
                self._check_rows(rows)
                return self.columns, rows
            count = 0
            for count, _ in enumerate(self._csv_rows(), 1):
                self._check_rows(count)
            return self.columns, count
        count = 0
        for count, (_, row) in enumerate(self._jsonl_records(), 1):
            self._check_rows(count)
            columns.update(dict.fromkeys(row))
            self._check_columns(len(columns))
        return tuple(columns), count

    def _check_rows(self, count: int) -> None:
        if count > self.limits.max_rows:
            raise DatasetError(
                f"{self.file}: expected at most {self.limits.max_rows} rows "
                "(ManifestLimits.max_rows), got more"
            )

    def _check_columns(self, count: int) -> None:
        if count > self.limits.max_columns:
            raise DatasetError(
                f"{self.file}: expected at most {self.limits.max_columns} columns "
                f"(ManifestLimits.max_columns), got {count}"
            )
