"""A manifest's label and feature columns parsed in bulk into arrays, same results and errors.

Labels: a column has few distinct cells (class names or indices), so
:func:`.columns.resolve_labels` runs on the distinct cells and the rows take their values by
index (an int64 array, not a Python int per row). Features: ``float()`` on every cell into a
float64 array, then the finite/float32 checks on the whole array. Whenever anything is wrong
the row-by-row functions run again over every cell, so the error names the first bad row with
exactly the words they use. Only text cells (CSV) take these routes: JSON cells may be ``true``,
which hashes and converts like ``1`` and must be refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import count
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DatasetError
from .columns import _FLOAT32_MAX, parse_number, resolve_labels
from .manifest_csv import CodedColumn

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..spec.source import LabelOutput


def label_array(
    cells: Sequence[Any], output: LabelOutput, where: Callable[[int], str], text: bool
) -> tuple[np.ndarray, int | None]:
    """Class indices (int64) of ``cells`` and the class count, as :func:`resolve_labels`."""
    if isinstance(cells, CodedColumn):
        try:
            values, classes = resolve_labels(cells.distinct, output, lambda row: "")
        except DatasetError:
            pass  # the row-by-row pass below names the first bad row
        else:
            return np.asarray(values, dtype=np.int64)[cells.codes], classes
    elif text:
        # An id per distinct cell (the row where it first appears), then one lookup table.
        distinct: dict[str, int] = {}
        codes = np.fromiter(map(distinct.setdefault, cells, count()), np.int64, len(cells))
        try:
            values, classes = resolve_labels(list(distinct), output, lambda row: "")
        except DatasetError:
            pass  # the row-by-row pass below names the first bad row
        else:
            lookup = np.zeros(len(cells), dtype=np.int64)
            lookup[np.fromiter(distinct.values(), np.int64, len(distinct))] = values
            return lookup[codes], classes
    values, classes = resolve_labels(cells, output, where)
    return np.asarray(values, dtype=np.int64), classes


def feature_matrix(
    table: Mapping[str, Sequence[Any]],
    columns: Sequence[str],
    rows: int,
    where: Callable[[int, str], str],
    text: bool,
) -> np.ndarray:
    """(rows, len(columns)) float32 features; a bad cell raises as :func:`parse_number`."""
    matrix = np.empty((rows, len(columns)), dtype=np.float32)
    for j, column in enumerate(columns):
        cells = table[column]
        if text:
            try:
                values = np.fromiter(map(float, cells), np.float64, rows)
            except (ValueError, TypeError, OverflowError):
                values = None
            if values is not None and bool(np.all(np.abs(values) <= _FLOAT32_MAX)):
                matrix[:, j] = values  # NaN fails the comparison above, as do infinities
                continue
        for row, value in enumerate(cells):
            matrix[row, j] = parse_number(value, where(row, column))
    return matrix


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_empty(table: dict[str, Any], where: Callable[[int, str], str]) -> dict[str, Any]:
    """``table``, or :class:`DatasetError` for the first row (then column) with an empty or
    blank cell (``None`` or whitespace), as the row-by-row reading reported it."""
    bad = []
    for position, (column, values) in enumerate(table.items()):
        if isinstance(values, CodedColumn):
            blank = [i for i, v in enumerate(values.distinct) if _empty(v)]
            if blank:
                bad.append((int(np.flatnonzero(np.isin(values.codes, blank))[0]), position, column))
            continue
        if set(map(type, values)) <= {str}:
            clean = all(map(str.strip, values))  # C speed for text cells
        else:
            clean = not any(map(_empty, values))
        if not clean:
            bad.append((next(r for r, v in enumerate(values) if _empty(v)), position, column))
    if bad:
        row, _, column = min(bad)
        raise DatasetError(f"{where(row, column)}: expected a value, got an empty cell")
    return table
