"""The plain CSV route of a manifest: records read in bulk when quoting cannot matter.

Most large manifests have no quote character, no NUL and no lone carriage return. For such a
file the ``csv`` module's records are exactly its non-blank lines split at ``,`` (a trailing
``\\r`` dropped), so the file is decoded once and split, with the same limits checked on the
whole byte buffer at once (every line within ``max_row_bytes``: a record is one line here).
Any other file, or one that breaks a limit or is not UTF-8, takes the record-by-record route in
:mod:`.manifest`, which words every error; this module never raises.
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np


def _body(raw: bytes) -> bytes:
    return raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw


def is_plain(raw: bytes, max_row_bytes: int) -> bool:
    """Whether ``raw`` may take the plain route (see the module's docstring)."""
    body = _body(raw)
    if b'"' in body or b"\0" in body or body.count(b"\r") != body.count(b"\r\n"):
        return False
    ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == ord("\n")) + 1
    if not len(ends) or ends[-1] != len(body):
        ends = np.append(ends, len(body))
    sizes = np.diff(ends, prepend=0)
    # A line within csv's field size limit cannot hold a field beyond it (csv refuses those).
    if len(sizes) and int(sizes.max()) > min(max_row_bytes, csv.field_size_limit()):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def plain_records(raw: bytes) -> Iterator[list[str]]:
    """Every record, the header first, of a file :func:`is_plain` accepted (a line decoded at
    a time: reading the header costs one line)."""
    body, start = _body(raw), 0
    while start < len(body):
        end = body.find(b"\n", start)
        end = len(body) if end < 0 else end + 1
        line = body[start:end].decode("utf-8").rstrip("\n").removesuffix("\r")
        start = end
        if line:
            yield line.split(",")


def _line_ends(body: bytes) -> np.ndarray:
    """The offset after each line's last byte (its ``\\n``, or the end of the file)."""
    ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == ord("\n")) + 1
    if not len(ends) or ends[-1] != len(body):
        ends = np.append(ends, len(body))
    return ends


def uniform_rows(raw: bytes, width: int) -> int | None:
    """Data rows of a plain file whose every line is a record of ``width`` cells; ``None`` for
    any other (blank lines, ragged rows: :mod:`.manifest` reads those record by record)."""
    body = _body(raw)
    ends = _line_ends(body)
    data = np.frombuffer(body, dtype=np.uint8)
    starts = np.concatenate(([0], ends[:-1]))
    newline = data[ends - 1] == ord("\n")
    carriage = np.zeros(len(ends), dtype=bool)
    carriage[newline] = data[np.maximum(ends[newline] - 2, 0)] == ord("\r")
    content = ends - starts - newline - (carriage & (ends - starts >= 2))
    if not len(content) or int(content.min()) < 1:
        return None
    commas = np.flatnonzero(data == ord(","))
    per_line = np.bincount(np.searchsorted(ends, commas, side="right"), minlength=len(ends))
    if int(per_line.min()) != width - 1 or int(per_line.max()) != width - 1:
        return None
    return len(ends) - 1


class CodedColumn(Sequence[str]):
    """A column of few distinct cells (labels): the distinct strings and an int32 id per row."""

    def __init__(self, distinct: list[str], codes: np.ndarray):
        self.distinct = distinct
        self.codes = codes

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self.distinct[int(c)] for c in self.codes[index]]
        return self.distinct[int(self.codes[index])]


def _coded(distinct: dict[str, int], firsts: list[np.ndarray]) -> CodedColumn:
    """Ids numbered by first appearance: each row's first-appearance row, renumbered."""
    rows = np.concatenate(firsts) if firsts else np.zeros(0, dtype=np.int64)
    renumber = np.zeros(len(rows), dtype=np.int32)
    renumber[np.fromiter(distinct.values(), np.int64, len(distinct))] = np.arange(
        len(distinct), dtype=np.int32
    )
    return CodedColumn(list(distinct), renumber[rows])


def uniform_columns(
    raw: bytes, width: int, positions: list[int], coded: list[bool]
) -> list[Sequence[str]]:
    """The cells at ``positions`` of every data row of a file :func:`uniform_rows` accepted,
    split a block of lines at a time so that unused cells never all exist at once; a column
    marked ``coded`` becomes a :class:`CodedColumn` block by block."""
    body = _body(raw)
    ends = _line_ends(body)
    columns: list[list[str]] = [[] for _ in positions]
    distinct: list[dict[str, int]] = [{} for _ in positions]
    firsts: list[list[np.ndarray]] = [[] for _ in positions]
    block, row = 1 << 16, 0
    for first in range(0, len(ends), block):
        start = int(ends[first - 1]) if first else 0
        text = body[start : int(ends[min(first + block, len(ends)) - 1])].decode("utf-8")
        text = text.replace("\r\n", "\n").removesuffix("\n")
        cells = text.replace("\n", ",").split(",")
        skip = width if first == 0 else 0  # the header
        rows = (len(cells) - skip) // width
        for j, position in enumerate(positions):
            values = cells[skip + position :: width]
            if coded[j]:
                ids = map(distinct[j].setdefault, values, itertools.count(row))
                firsts[j].append(np.fromiter(ids, np.int64, rows))
            else:
                columns[j].extend(values)
        row += rows
    return [
        _coded(distinct[j], firsts[j]) if coded[j] else columns[j] for j in range(len(positions))
    ]
