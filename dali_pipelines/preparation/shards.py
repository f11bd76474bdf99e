"""Writing one shard: a ustar tar of the samples' members and its columnar index.

A shard is written to a temporary name in ``OUT/shards`` and renamed when complete, its index
likewise; the manifest that lists them is written after both (see :mod:`.run`). Members carry
mtime 0, uid/gid 0, no user names and mode 0644, so their bytes depend on the samples only.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import Any

from ..data.prepared_format import (
    BoxesIndex,
    ImageColumnIndex,
    ShardEntry,
    ShardIndex,
    file_sha256,
    index_name,
    member_name,
    sample_key,
    shard_name,
    write_json_atomic,
)
from ..errors import DatasetError
from .sample import SampleResult

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE
_IMAGE_FIELDS = ("ext", "width", "height", "source_width", "source_height", "kept")


def member_bytes(size: int) -> int:
    """Bytes a member of ``size`` bytes takes in a tar: its header and its padded data."""
    return BLOCK + -(-size // BLOCK) * BLOCK


def tar_bytes(members: int) -> int:
    """Size of a tar whose members take ``members`` bytes: two zero blocks end it, and
    ``tarfile`` pads it to a whole record (20 blocks)."""
    return -(-(members + 2 * BLOCK) // RECORD) * RECORD


def sample_members(result: SampleResult, keys: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """(name, data) of the sample's members, in order: images, ``cls``, ``json``."""
    key = sample_key(result.index)
    members = [
        (member_name(key, column, image.ext), image.data)
        for column, image in zip(keys, result.images)
    ]
    if result.labels:
        members.append((f"{key}.cls", str(result.labels[0][1]).encode("ascii")))
    record = result.record(keys, lambda column, ext: member_name(key, column, ext))
    members.append((f"{key}.json", record.model_dump_json().encode("utf-8")))
    return members


class ShardWriter:
    """Appends samples to ``shard-<number>.tar`` under a temporary name until :meth:`close`."""

    def __init__(self, folder: Path, number: int, keys: tuple[str, ...]):
        self.folder = folder
        self.name = shard_name(number)
        self.keys = keys
        self.temporary = folder / f".{self.name}.{os.getpid()}.tmp"
        # Open until close() or abort(): a shard outlives any one block.
        self.handle = open(self.temporary, "wb")  # noqa: SIM115
        self.tar = tarfile.open(  # noqa: SIM115
            fileobj=self.handle, mode="w", format=tarfile.USTAR_FORMAT
        )
        self.members = 0  # bytes of the members written so far
        self.results: list[SampleResult] = []
        self.offsets: list[list[int]] = []

    @property
    def samples(self) -> int:
        return len(self.results)

    def bytes_with(self, members: list[tuple[str, bytes]]) -> int:
        """The shard's final size if ``members`` were added."""
        return tar_bytes(self.members + sum(member_bytes(len(data)) for _, data in members))

    def add(self, result: SampleResult, members: list[tuple[str, bytes]]) -> None:
        offsets = []
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            header = self.tar.offset  # a ustar member: one header block, then its data
            try:
                self.tar.addfile(info, io.BytesIO(data))
            except ValueError as exc:  # a name too long for ustar
                raise DatasetError(f"{name}: expected a ustar member name, got {exc}") from None
            offsets.append(header + BLOCK)
            self.members += member_bytes(len(data))
        self.results.append(result)
        self.offsets.append(offsets[: len(self.keys)])

    def close(self) -> tuple[ShardEntry, ShardIndex]:
        """Finish the tar and its index and give them their names."""
        self.tar.close()
        self.handle.close()
        size = os.path.getsize(self.temporary)
        digest = file_sha256(self.temporary)
        index = self._index(size, digest)
        write_json_atomic(self.folder / index_name(self.name), index)
        os.replace(self.temporary, self.folder / self.name)
        first = self.results[0].index
        entry = ShardEntry(
            name=self.name,
            samples=self.samples,
            bytes=size,
            sha256=digest,
            first_source_index=first,
        )
        return entry, index

    def abort(self) -> None:
        """Drop the unfinished shard (an error stopped the run)."""
        self.handle.close()
        self.temporary.unlink(missing_ok=True)

    def _index(self, size: int, digest: str) -> ShardIndex:
        results = self.results
        images: dict[str, ImageColumnIndex] = {}
        for position, column in enumerate(self.keys):
            rows = [(r.images[position], o[position]) for r, o in zip(results, self.offsets)]
            values: dict[str, Any] = {
                "offset": [offset for _, offset in rows],
                "size": [len(image.data) for image, _ in rows],
            }
            for field in _IMAGE_FIELDS:
                values[field] = [getattr(image, field) for image, _ in rows]
            images[column] = ImageColumnIndex(**values)
        return ShardIndex(
            shard=self.name,
            bytes=size,
            sha256=digest,
            keys=tuple(sample_key(r.index) for r in results),
            source_index=tuple(r.index for r in results),
            paths=tuple(r.path for r in results),
            images=images,
            labels=_column(results, "labels"),
            features=_column(results, "features"),
            boxes=self._boxes(),
        )

    def _boxes(self) -> dict[str, BoxesIndex]:
        if not self.results or not self.results[0].boxes:
            return {}
        out: dict[str, BoxesIndex] = {}
        for position, (column, _) in enumerate(self.results[0].boxes):
            start: list[int] = []
            count: list[int] = []
            xyxy: list[tuple[float, float, float, float]] = []
            labels: list[int] = []
            for result in self.results:
                rows = result.boxes[position][1]
                start.append(len(xyxy))
                count.append(len(rows.xyxy))
                xyxy.extend(rows.xyxy)
                labels.extend(rows.labels)
            out[column] = BoxesIndex(
                start=tuple(start), count=tuple(count), xyxy=tuple(xyxy), labels=tuple(labels)
            )
        return out


def _column(results: list[SampleResult], field: str) -> dict[str, Any]:
    """Per column of ``field`` (``labels``/``features``): its value for every sample."""
    if not results:
        return {}
    columns = [name for name, _ in getattr(results[0], field)]
    return {name: tuple(getattr(r, field)[k][1] for r in results) for k, name in enumerate(columns)}
