"""One sample of ``prepare``: its image columns prepared, its labels, features and boxes read.

This runs in the worker threads (PIL releases the GIL while it decodes, resizes and encodes),
reading the source's bytes there too. The result holds everything its tar members and index
entries need, so the writer only appends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.checks import REASONS, Check, Reason, bad
from ..data.prepared_format import BadFile, Options, SampleRecord
from ..errors import DatasetError, FileRefusedError
from .image import PreparedImage, RawTooLargeError, prepare_image
from .source import Bound


@dataclass(frozen=True)
class BoxRows:
    """Boxes of a sample in stored pixels: (x1, y1, x2, y2) rows and one class per row."""

    xyxy: tuple[tuple[float, float, float, float], ...]
    labels: tuple[int, ...]


@dataclass(frozen=True)
class SampleResult:
    index: int
    path: str
    #: Per image column (layout order); empty when the sample is bad.
    images: tuple[PreparedImage, ...]
    #: The bad files of a bad sample (a sample is bad when any of its images is).
    bad: tuple[BadFile, ...] = ()
    labels: tuple[tuple[str, int], ...] = ()
    features: tuple[tuple[str, float], ...] = ()
    boxes: tuple[tuple[str, BoxRows], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.bad

    def record(self, keys: tuple[str, ...], member: Any) -> SampleRecord:
        """The ``<key>.json`` record; ``member(column, ext)`` names an image member."""
        images = {
            column: {
                "member": member(column, image.ext),
                "width": image.width,
                "height": image.height,
                "source_width": image.source_width,
                "source_height": image.source_height,
                "kept": image.kept,
            }
            for column, image in zip(keys, self.images)
        }
        boxes = {
            column: {"xyxy": [list(row) for row in rows.xyxy], "labels": list(rows.labels)}
            for column, rows in self.boxes
        }
        return SampleRecord(
            source_index=self.index,
            path=self.path,
            images=images,
            labels=dict(self.labels),
            features=dict(self.features),
            boxes=boxes,
        )


def read_check(read: Any, index: int) -> bytes | Check:
    """The bytes of image ``index``, or validate's verdict on a file that cannot be read."""
    try:
        return bytes(np.asarray(read(index), dtype=np.uint8).tobytes())
    except FileRefusedError as exc:
        code: Reason = next((r for r in REASONS if r == exc.code), "unreadable")
        return bad(code, exc.reason)
    except OSError as exc:
        return bad("unreadable", f"{type(exc).__name__}: {exc.strerror or exc}")


def process_sample(source: Bound, index: int, options: Options) -> SampleResult:
    """Sample ``index`` of ``source`` prepared per ``options`` (see :mod:`.image`)."""
    bound = source.bound
    images: list[PreparedImage] = []
    failures: list[BadFile] = []
    for column, read in enumerate(bound.images):
        data = read_check(read, index)
        try:
            outcome = data if isinstance(data, Check) else prepare_image(data, options)
        except RawTooLargeError as exc:  # a setting to change, not a bad file: stop the run
            raise DatasetError(f"{bound.path(index, column)}: {exc}") from None
        if isinstance(outcome, Check):
            path = bound.path(index, column)
            reason = outcome.reason or "corrupt"
            detail = outcome.detail
            failures.append(BadFile(source_index=index, path=path, reason=reason, detail=detail))
        else:
            images.append(outcome)
    path = bound.path(index, 0)
    if failures:
        return SampleResult(index, path, (), tuple(failures))
    outputs = source.layout.labels
    labels = tuple((o.column, int(read(index))) for o, read in zip(outputs, bound.labels))
    features = tuple(
        (column, float(value))
        for columns, read in zip(source.feature_columns, bound.features)
        for column, value in zip(columns, np.asarray(read(index), dtype=np.float32).tolist())
    )
    boxes: tuple[tuple[str, BoxRows], ...] = ()
    if bound.boxes is not None and source.layout.boxes is not None:
        image = images[source.layout.box_image]
        boxes = ((source.layout.boxes.column, scale_boxes(bound.boxes(index), image)),)
    return SampleResult(index, path, tuple(images), (), labels, features, boxes)


def scale_boxes(found: tuple[np.ndarray, np.ndarray], image: PreparedImage) -> BoxRows:
    """Boxes in source pixels -> stored pixels: x by ``width / source_width`` and y by
    ``height / source_height`` in float64, stored as float32 values."""
    xyxy, labels = found
    scale = np.array(
        [image.width / image.source_width, image.height / image.source_height] * 2,
        dtype=np.float64,
    )
    scaled = (np.asarray(xyxy, dtype=np.float64).reshape(-1, 4) * scale).astype(np.float32)
    rows = tuple((float(a), float(b), float(c), float(d)) for a, b, c, d in scaled.tolist())
    return BoxRows(rows, tuple(int(label) for label in np.asarray(labels).tolist()))
