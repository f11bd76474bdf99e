"""A dataset bound to a layout: one reader per image column, label, feature group and boxes.

Backends never ask a dataset about its columns one name at a time on the hot path: binding
resolves every column once to a plain callable over the sample index. A dataset with columns
(:class:`~.manifest.Manifest`, :class:`~.webdataset.WebDataset`, :class:`~.coco.Coco`)
implements ``bind(layout)``; any other :class:`~.source.SampleSource` (``ImageFolder``) serves the
classic layout of one image and one label through ``read_bytes`` and ``label``, so that path is
the same bound methods it always called.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DatasetError
from .npy import Encoding
from .source import SampleSource

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..plan.layout import Layout
    from ..spec.source import LabelOutput

_INT = re.compile(r"^[+-]?\d+$")
#: Labels travel as int64: a class index must be below this (checked when a dataset is bound).
INT64_LIMIT = 2**63
_FLOAT32_MAX = float(np.finfo(np.float32).max)

#: (K, 4) float32 boxes x1, y1, x2, y2 in pixels of the decoded image; (K,) int64 class indices.
Boxes = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class BoundSource:
    dataset: SampleSource
    #: Per image column: the encoded bytes, and the file name for messages.
    images: tuple[Callable[[int], np.ndarray], ...]
    image_paths: tuple[Callable[[int], str], ...]
    labels: tuple[Callable[[int], int], ...] = ()
    #: Per features output: a float32 array of shape (D,).
    features: tuple[Callable[[int], np.ndarray], ...] = ()
    boxes: Callable[[int], Boxes] | None = None
    #: Class count of the first label output when known (the contract's value range).
    num_classes: int | None = None
    #: Per image column how ``images`` stores it: ``encoded`` (JPEG, PNG, ... decoded by the
    #: executor) or ``npy`` (raw HWC uint8 pixels, :mod:`.npy`: no decode). Empty: all encoded.
    encodings: tuple[Encoding, ...] = ()

    def path(self, index: int, column: int = 0) -> str:
        return self.image_paths[column](index)

    def encoding(self, column: int) -> Encoding:
        return self.encodings[column] if self.encodings else "encoded"


def bind_source(dataset: SampleSource, layout: Layout) -> BoundSource:
    """``dataset``'s readers for ``layout``; :class:`DatasetError` names a column it lacks."""
    bind = getattr(dataset, "bind", None)
    if callable(bind):
        bound = bind(layout)
        if not isinstance(bound, BoundSource):
            got = type(bound).__name__
            raise DatasetError(f"{type(dataset).__name__}.bind: expected a BoundSource, got {got}")
        return bound
    name = type(dataset).__name__
    extra = [
        o.name
        for o in layout.source.outputs
        if o.kind in ("features", "boxes") or (o.kind == "label" and o is not layout.labels[0])
    ]
    if len(layout.images) != 1 or len(layout.labels) > 1 or extra:
        got = ", ".join(f"{o.name} ({o.kind})" for o in layout.source.outputs)
        raise DatasetError(
            f"source.outputs: expected one image and at most one label for {name} (a dataset "
            f"without columns), got {got}"
        )
    classes: Sequence[Any] | None = getattr(dataset, "classes", None)
    return BoundSource(
        dataset=dataset,
        images=(dataset.read_bytes,),
        image_paths=(dataset.path,),
        labels=(dataset.label,) if layout.labels else (),
        num_classes=len(classes) if classes else None,
    )


def resolve_labels(
    cells: Sequence[Any], output: LabelOutput, where: Callable[[int], str]
) -> tuple[list[int], int | None]:
    """Class indices of ``cells`` (ints, digit strings or class names) and the class count.

    Names map through ``output.classes`` when given, else through their sorted set (as
    ImageFolder sorts folders); indices stay as they are. ``where(row)`` names a bad cell.
    """
    parsed: list[int | str] = []
    for row, value in enumerate(cells):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise DatasetError(
                f"{where(row)}: expected a class index or name, got {value!r} "
                f"({type(value).__name__})"
            )
        if isinstance(value, str) and _INT.match(value):
            value = _index(value, where(row))
        parsed.append(value)
    names = output.classes
    if names is None and any(isinstance(v, str) for v in parsed):
        first_int = next((r for r, v in enumerate(parsed) if isinstance(v, int)), None)
        if first_int is not None:
            raise DatasetError(
                f"{where(first_int)}: expected a class name like the other rows, got "
                f"{parsed[first_int]!r} (declare the label's classes to mix indices and names)"
            )
        names = tuple(sorted({str(v) for v in parsed}))
    lookup = {name: i for i, name in enumerate(names or ())}
    out = []
    for row, value in enumerate(parsed):
        if isinstance(value, str):
            if value not in lookup:
                raise DatasetError(
                    f"{where(row)}: expected one of the classes {list(lookup)}, got {value!r}"
                )
            out.append(lookup[value])
        elif value < 0 or value >= (INT64_LIMIT if names is None else len(names)):
            limit = f" and < {len(names) if names is not None else '2**63 (int64)'}"
            raise DatasetError(f"{where(row)}: expected a class index >= 0{limit}, got {value}")
        else:
            out.append(value)
    return out, len(names) if names is not None else None


def parse_number(value: Any, where: str) -> float:
    """``value`` (a number or its text) as a finite float; ``where`` names a bad cell."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DatasetError(f"{where}: expected a number, got {value!r} ({type(value).__name__})")
    try:
        number = float(value)
    except (ValueError, OverflowError):  # OverflowError: an int beyond any float
        raise DatasetError(f"{where}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise DatasetError(f"{where}: expected a finite number, got {value!r}")
    if abs(number) > _FLOAT32_MAX:  # features are float32: this would become inf
        raise DatasetError(f"{where}: expected a finite float32 (|x| <= 3.4e38), got {value!r}")
    return number


def _index(text: str, where: str) -> int:
    """A digit string as an int; more than 19 digits (beyond int64) is refused before parsing
    (Python refuses to parse more than 4300 digits with a ValueError of its own)."""
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 19:
        raise DatasetError(
            f"{where}: expected a class index below 2**63 (int64), got {text[:40]!r}"
        )
    return int(text)


def read_data_file(path: str | os.PathLike[str], limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or :class:`DatasetError`.

    Opened without blocking (a FIFO swapped in is refused, not waited on) and read at most
    ``limit + 1`` bytes, so neither a special file nor a huge one can exhaust memory. ``what``
    names the limit in messages (``ManifestLimits.max_bytes``).
    """
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise DatasetError(f"{name}: expected a readable file, got {exc.strerror}") from exc
    with open(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DatasetError(f"{name}: expected a regular file, got a special file")
        if info.st_size > limit:
            raise DatasetError(
                f"{name}: expected at most {limit} bytes ({what}), got {info.st_size}"
            )
        # As large as fstat says, plus one byte: more means the file grew; read on, bounded.
        chunks = [handle.read(info.st_size + 1)]
        total = len(chunks[0])
        while len(chunks[-1]) and total <= limit and total > info.st_size:
            chunks.append(handle.read(min(1 << 20, limit + 1 - total)))
            total += len(chunks[-1])
    if total > limit:
        raise DatasetError(f"{name}: expected at most {limit} bytes ({what}), got more")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
