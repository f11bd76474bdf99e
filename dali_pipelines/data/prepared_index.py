"""Opening prepared data: the checks of each shard and index, and the columns as arrays.

Everything a read relies on is checked here, when :class:`~.prepared.Prepared` opens a folder,
so a damaged or forged folder fails naming the file rather than mid-epoch: shard names, sizes
(and SHA-256 with ``verify``), each index against its manifest entry, one entry per sample in
every column, member extents inside their tar, box rows inside the box table, and the same
columns in every shard. The columns then become a few numpy arrays over the global index.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError
from .prepared_format import (
    MANIFEST_NAME,
    SHARDS_DIR,
    ShardEntry,
    ShardIndex,
    file_sha256,
    index_name,
    read_json_model,
)

#: A tar block: a member's ustar header is the block before its data.
TAR_BLOCK = 512


@dataclass(frozen=True)
class ImageColumn:
    """One stored image column over every sample (global index)."""

    offset: np.ndarray  # int64
    size: np.ndarray  # int64
    width: np.ndarray  # int64
    height: np.ndarray  # int64
    source_width: np.ndarray  # int64
    source_height: np.ndarray  # int64
    #: Per shard: the members' extensions (as parsed; indexed by position in the shard).
    ext: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class BoxColumn:
    """Sample ``i`` owns rows ``start[i] : start[i] + count[i]`` of ``xyxy`` and ``labels``."""

    start: np.ndarray  # int64, global rows
    count: np.ndarray  # int64
    xyxy: np.ndarray  # (R, 4) float32
    labels: np.ndarray  # (R,) int64


def check_name(where: object, name: str) -> None:
    """A shard's name must be a plain file name inside ``shards/``."""
    if not name or name != os.path.basename(name) or name.startswith(".") or "\0" in name:
        raise DatasetError(
            f"{where}: shards: expected a file name inside {SHARDS_DIR}/, got {name!r}"
        )


def check_shard(root: Path, where: Path, name: str, size: int, sha256: str, verify: bool) -> str:
    """The shard's path after checking its name, size and (``verify``) its SHA-256."""
    check_name(where, name)
    path = root / SHARDS_DIR / name
    try:
        got = os.stat(path).st_size
    except OSError as exc:
        raise DatasetError(
            f"{path}: expected a shard of the prepared data, got {exc.strerror}"
        ) from exc
    if not path.is_file():
        raise DatasetError(f"{path}: expected a shard file, got a special file")
    if got != size:
        raise DatasetError(
            f"{path}: expected {size} bytes ({MANIFEST_NAME}), got {got} (a truncated or "
            "modified shard: prepare the data again)"
        )
    if verify:
        digest = file_sha256(path)
        if digest != sha256:
            raise DatasetError(
                f"{path}: expected SHA-256 {sha256} ({MANIFEST_NAME}), got {digest} (the "
                "shard's bytes changed: prepare the data again)"
            )
    return str(path)


def load_index(root: Path, entry: ShardEntry) -> ShardIndex:
    """The index of the shard ``entry``, checked against it and against itself."""
    path = root / SHARDS_DIR / index_name(entry.name)
    index: ShardIndex = read_json_model(path, ShardIndex, "prepared shard index")
    return check_index(path, index, entry)


def check_index(path: object, index: ShardIndex, entry: ShardEntry) -> ShardIndex:
    """``index`` (read from ``path``) checked against its manifest entry and itself."""
    for field, want, got in (
        ("shard", entry.name, index.shard),
        ("bytes", entry.bytes, index.bytes),
        ("sha256", entry.sha256, index.sha256),
        ("samples", entry.samples, len(index.keys)),
    ):
        if want != got:
            raise DatasetError(
                f"{path}: {field}: expected {want!r} ({MANIFEST_NAME}), got {got!r} (an index "
                "from another run: prepare the data again)"
            )
    _check_lengths(path, index, entry.samples)
    _check_extents(path, index, entry.bytes)
    return index


def _check_lengths(path: object, index: ShardIndex, n: int) -> None:
    """Every column holds one entry per sample."""
    lengths: list[tuple[str, int]] = [
        ("source_index", len(index.source_index)),
        ("paths", len(index.paths)),
    ]
    for name, column in index.images.items():
        for field in ("offset", "size", "ext", "width", "height", "source_width"):
            lengths.append((f"images.{name}.{field}", len(getattr(column, field))))
        lengths.append((f"images.{name}.source_height", len(column.source_height)))
        lengths.append((f"images.{name}.kept", len(column.kept)))
    lengths += [(f"labels.{k}", len(v)) for k, v in index.labels.items()]
    lengths += [(f"features.{k}", len(v)) for k, v in index.features.items()]
    for name, boxes in index.boxes.items():
        lengths += [(f"boxes.{name}.start", len(boxes.start))]
        lengths += [(f"boxes.{name}.count", len(boxes.count))]
    for field, got in lengths:
        if got != n:
            raise DatasetError(f"{path}: {field}: expected {n} entries (one per sample), got {got}")


def _check_extents(path: object, index: ShardIndex, shard_bytes: int) -> None:
    """Every member lies inside the shard, every sample's boxes inside the box table."""
    for name, column in index.images.items():
        offset = np.asarray(column.offset, dtype=np.int64)
        size = np.asarray(column.size, dtype=np.int64)
        outside = (offset < 0) | (size < 0) | (offset + size > shard_bytes)
        if outside.any():
            k = int(np.argmax(outside))
            raise DatasetError(
                f"{path}: images.{name}: expected member {index.keys[k]}.{name}."
                f"{column.ext[k]} inside the shard ({shard_bytes} bytes), got {int(size[k])} "
                f"bytes at offset {int(offset[k])} (a damaged or forged index)"
            )
    for name, boxes in index.boxes.items():
        rows = len(boxes.xyxy)
        if len(boxes.labels) != rows:
            raise DatasetError(
                f"{path}: boxes.{name}.labels: expected {rows} entries (one per box), got "
                f"{len(boxes.labels)}"
            )
        start = np.asarray(boxes.start, dtype=np.int64)
        count = np.asarray(boxes.count, dtype=np.int64)
        outside = (start < 0) | (count < 0) | (start + count > rows)
        if outside.any():
            k = int(np.argmax(outside))
            raise DatasetError(
                f"{path}: boxes.{name}: expected sample {index.keys[k]}'s rows inside the "
                f"box table ({rows} rows), got {int(count[k])} rows at {int(start[k])}"
            )


def check_columns(paths: Sequence[str], indexes: list[ShardIndex]) -> None:
    """Every shard holds the first shard's columns."""

    def columns(index: ShardIndex) -> tuple[Any, ...]:
        return (
            sorted(index.images),
            sorted(index.labels),
            sorted(index.features),
            sorted(index.boxes),
        )

    want = columns(indexes[0])
    for shard, index in enumerate(indexes[1:], start=1):
        if columns(index) != want:
            raise DatasetError(
                f"{paths[shard]}: expected the columns of {Path(paths[0]).name} "
                f"{want}, got {columns(index)}"
            )


def gather(indexes: list[ShardIndex], field: str, name: str, dtype: Any) -> np.ndarray:
    """One label or feature column over every shard as a ``dtype`` array."""
    try:
        parts = [np.asarray(getattr(index, field)[name], dtype=dtype) for index in indexes]
    except OverflowError:
        raise DatasetError(
            f"{field} {name!r}: expected values within {np.dtype(dtype).name}, got larger ones"
        ) from None
    values = np.concatenate(parts)
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise DatasetError(f"{field} {name!r}: expected finite float32 values, got inf or nan")
    return values


def image_column(indexes: list[ShardIndex], name: str) -> ImageColumn:
    def gather(field: str) -> np.ndarray:
        parts = [
            np.asarray(getattr(index.images[name], field), dtype=np.int64) for index in indexes
        ]
        return np.concatenate(parts)

    return ImageColumn(
        offset=gather("offset"),
        size=gather("size"),
        width=gather("width"),
        height=gather("height"),
        source_width=gather("source_width"),
        source_height=gather("source_height"),
        ext=tuple(index.images[name].ext for index in indexes),
    )


def box_column(indexes: list[ShardIndex], name: str) -> BoxColumn:
    starts, counts, xyxy, labels = [], [], [], []
    rows = 0
    for index in indexes:
        boxes = index.boxes[name]
        starts.append(np.asarray(boxes.start, dtype=np.int64) + rows)
        counts.append(np.asarray(boxes.count, dtype=np.int64))
        xyxy.append(np.asarray(boxes.xyxy, dtype=np.float32).reshape(-1, 4))
        labels.append(np.asarray(boxes.labels, dtype=np.int64))
        rows += len(boxes.xyxy)
    return BoxColumn(
        np.concatenate(starts), np.concatenate(counts), np.concatenate(xyxy), np.concatenate(labels)
    )


def tar_header_name(header: Any) -> str | None:
    """The member name of a 512-byte ustar header (``prefix/name``), else ``None``."""
    block = bytes(header)
    if len(block) != TAR_BLOCK or block[257:262] != b"ustar":
        return None
    name = block[:100].split(b"\0", 1)[0]
    prefix = block[345:500].split(b"\0", 1)[0]
    return (prefix + b"/" + name if prefix else name).decode("utf-8", "replace")
