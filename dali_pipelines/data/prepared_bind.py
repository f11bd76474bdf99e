"""Binding prepared data to a spec's layout: its columns by their stored names.

Image columns by key, labels and boxes by column, feature groups column by column; a label
output declaring ``classes`` must match the stored class names. What the data lacks is refused
naming the output and listing what the data holds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DatasetError
from .columns import INT64_LIMIT, BoundSource, Boxes

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..plan.layout import Layout
    from .prepared import Prepared


def bind_prepared(source: Prepared, layout: Layout) -> BoundSource:
    """The readers of ``layout``'s columns; :class:`DatasetError` names a missing column
    and lists what the prepared data holds."""
    if layout.audio is not None:
        raise DatasetError(
            f"{source.root}: expected an image spec (prepared data holds images), got an audio spec"
        )
    for column in layout.images:
        if column.key not in source.images:
            raise DatasetError(
                f"source.outputs.{column.name}: expected a stored image column, got "
                f"{column.key!r}; {source._holds()}"
            )
    labels: list[Callable[[int], int]] = []
    num_classes = None
    for position, output in enumerate(layout.labels):
        if output.column not in source.labels:
            raise DatasetError(
                f"source.outputs.{output.name}: expected a stored label column, got "
                f"{output.column!r}; {source._holds()}"
            )
        count = label_classes(source, output)
        values = source.labels[output.column]
        labels.append(functools.partial(_item, values))
        num_classes = count if position == 0 else num_classes
    features: list[Callable[[int], np.ndarray]] = []
    for group in layout.features:
        missing = [c for c in group.columns if c not in source.features]
        if missing:
            raise DatasetError(
                f"source.outputs.{group.name}: expected stored feature columns, got "
                f"{missing} missing; {source._holds()}"
            )
        matrix = np.stack([source.features[c] for c in group.columns], axis=1)
        features.append(matrix.__getitem__)
    boxes: Callable[[int], Boxes] | None = None
    if layout.boxes is not None:
        stored = layout.boxes.column
        if stored not in source.boxes_columns:
            raise DatasetError(
                f"source.outputs.{layout.boxes.name}: expected a stored boxes column, got "
                f"{stored!r}; {source._holds()}"
            )
        boxes = functools.partial(source._boxes, stored)
        if not layout.labels:
            num_classes = stored_classes(source, stored)
    return BoundSource(
        dataset=source,
        images=tuple(functools.partial(source._read, c.key) for c in layout.images),
        image_paths=tuple(functools.partial(source._path, c.key) for c in layout.images),
        labels=tuple(labels),
        features=tuple(features),
        boxes=boxes,
        num_classes=num_classes,
        encodings=tuple(source.encoding(c.key) for c in layout.images),
    )


def stored_classes(source: Prepared, column: str) -> int | None:
    """The class count recorded for ``column`` (from its names when only they were)."""
    count = source.manifest.num_classes.get(column)
    names = source.manifest.classes.get(column)
    if count is None and names is not None:
        count = len(names)
    return count


def label_classes(source: Prepared, output: Any) -> int | None:
    """The class count of a label output; its declared ``classes`` must be the stored."""
    stored = source.manifest.classes.get(output.column)
    declared = output.classes
    if declared is not None and stored is not None and tuple(declared) != tuple(stored):
        raise DatasetError(
            f"source.outputs.{output.name}.classes: expected the prepared data's classes of "
            f"column {output.column!r} {list(stored)}, got {list(declared)} (prepare the "
            "data again with this spec)"
        )
    count = stored_classes(source, output.column)
    if declared is not None:
        count = len(declared)
    values = source.labels[output.column]
    limit = INT64_LIMIT if count is None else count
    if len(values) and int(values.max()) >= limit:
        raise DatasetError(
            f"{source.root}: labels {output.column!r}: expected class indices < {limit}, got "
            f"{int(values.max())}"
        )
    return count


def _item(values: np.ndarray, index: int) -> int:
    return int(values[index])
