"""``Manifest``: a CSV or JSONL table, one row per sample, columns bound by the spec's source.

Image cells are paths relative to the manifest's folder and may not leave it: ``..`` parts,
absolute paths and symlinks resolving outside are refused, naming the row, so a manifest from
elsewhere cannot make the loader read other files. Every cell the spec uses is checked when the
loader binds the manifest (before the first batch): a missing file, an empty cell, a label that
is neither an index nor a class name and a feature that is not a finite number each raise
:class:`DatasetError` as ``<manifest> row R, column 'C': expected X, got Y`` (rows count from 1,
the header excluded).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DatasetError
from .columns import BoundSource, parse_number, resolve_labels
from .paths import read_file, safe_path

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..plan.layout import Layout
    from ..spec.source import LabelOutput


class Manifest:
    """Rows of a ``.csv`` (header line first) or ``.jsonl`` (one JSON object per line) file."""

    def __init__(self, path: str | os.PathLike[str], *, check_files: bool = True):
        self.file = Path(path)
        self.check_files = check_files
        if not self.file.is_file():
            raise DatasetError(f"Manifest.path: expected a CSV or JSONL file, got {str(path)!r}")
        # Resolved once: every image path must stay under this folder.
        self.root = os.path.realpath(self.file.parent)
        suffix = self.file.suffix.lower()
        raw = self.file.read_bytes()
        self._digest = hashlib.sha256(raw).hexdigest()[:16]
        text = raw.decode("utf-8-sig")
        if suffix == ".csv":
            self.columns, self.rows = self._read_csv(text)
        elif suffix in (".jsonl", ".ndjson"):
            self.columns, self.rows = self._read_jsonl(text)
        else:
            raise DatasetError(f"{self.file}: expected a .csv or .jsonl file, got {suffix!r}")
        if not self.rows:
            raise DatasetError(f"{self.file}: expected at least one row, got none")
        self._bound: BoundSource | None = None

    def _read_csv(self, text: str) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
        reader = csv.DictReader(text.splitlines())
        columns = tuple(reader.fieldnames or ())
        if not columns:
            raise DatasetError(f"{self.file}: expected a header line naming the columns, got none")
        rows = []
        for number, row in enumerate(reader, 1):
            if None in row:  # more cells than header names
                raise DatasetError(
                    f"{self.file} row {number}: expected {len(columns)} cells, got more"
                )
            rows.append(dict(row))
        return columns, rows

    def _read_jsonl(self, text: str) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
        columns: dict[str, None] = {}
        rows = []
        for line_number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                where = f"{self.file} line {line_number}"
                got = f"invalid JSON ({exc})"
                raise DatasetError(f"{where}: expected a JSON object, got {got}") from exc
            if not isinstance(row, dict):
                got = type(row).__name__
                raise DatasetError(f"{self.file} line {line_number}: expected an object, got {got}")
            columns.update(dict.fromkeys(row))
            rows.append(row)
        return tuple(columns), rows

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"Manifest(file={str(self.file)!r}, rows={len(self)}, columns={list(self.columns)})"

    # -- binding -------------------------------------------------------------------------------
    def _where(self, row: int, column: str) -> str:
        return f"{self.file.name} row {row + 1}, column {column!r}"

    def _cells(self, column: str) -> list[Any]:
        if column not in self.columns:
            raise DatasetError(
                f"{self.file.name}: expected a column {column!r} (from the spec's source), "
                f"got columns {list(self.columns)}"
            )
        cells = []
        for row, values in enumerate(self.rows):
            value = values.get(column)
            if value is None or (isinstance(value, str) and not value.strip()):
                where = self._where(row, column)
                raise DatasetError(f"{where}: expected a value, got an empty cell")
            cells.append(value)
        return cells

    def _safe_path(self, value: Any, where: str) -> str:
        return safe_path(self.root, value, where, "the manifest's folder", self.check_files)

    def bind(self, layout: Layout) -> BoundSource:
        """Check every cell ``layout`` uses and return its readers (the loader calls this)."""
        image_files = [
            [self._safe_path(v, self._where(r, c.key)) for r, v in enumerate(self._cells(c.key))]
            for c in layout.images
        ]
        labels, num_classes = [], None
        for position, output in enumerate(layout.labels):
            values, classes = self._labels(output)
            labels.append(values.__getitem__)
            if position == 0:
                num_classes = classes
        features = [self._features(o.columns).__getitem__ for o in layout.features]
        if layout.boxes is not None:
            raise DatasetError(
                f"{self.file.name}: expected no 'boxes' output (a manifest holds no boxes; use "
                f"Coco), got {layout.boxes.name!r}"
            )
        readers: list[Callable[[int], np.ndarray]] = [
            functools.partial(read_file, files) for files in image_files
        ]
        self._bound = BoundSource(
            dataset=self,
            images=tuple(readers),
            image_paths=tuple(files.__getitem__ for files in image_files),
            labels=tuple(labels),
            features=tuple(features),
            num_classes=num_classes,
        )
        return self._bound

    def _labels(self, output: LabelOutput) -> tuple[list[int], int | None]:
        cells = self._cells(output.column)
        return resolve_labels(cells, output, functools.partial(self._where, column=output.column))

    def _features(self, columns: tuple[str, ...]) -> np.ndarray:
        matrix = np.empty((len(self.rows), len(columns)), dtype=np.float32)
        for j, column in enumerate(columns):
            for row, value in enumerate(self._cells(column)):
                matrix[row, j] = parse_number(value, self._where(row, column))
        return matrix

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
