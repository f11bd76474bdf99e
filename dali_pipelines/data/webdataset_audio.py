"""Audio members of a :class:`~.webdataset.WebDataset`: their column check and durations.

An audio spec's column names an audio extension (``wav``, ``flac``, ``ogg``; ``"wav;flac"``
takes the first a sample has). Its members are read as bytes like image members; what is new
is :func:`shard_durations`, the seconds of every sample for a length-bucketing order.

Durations come from the members' headers, never from decoding: libsndfile opens each member
through :class:`MemberView`, a seekable window on the shard read by ``pread``, so it reads only
what its parser asks for: a WAV's chunk headers (its first bytes), a FLAC's STREAMINFO block,
an OGG stream through once (libsndfile 1.2 counts Vorbis frames page by page: bounded by the
member). The view ends at the member's end and stops after a few times its size, so a damaged
member cannot make it read on; a member over ``max_file_bytes`` is not opened. The result is
cached per shard next to the tar index (``<shard>.dur.json``, or in ``index_dir``), stamped with
the shard's size and mtime like the index, so a rewritten shard is read again. A member whose
header is unreadable counts 0.0 s: reading that sample reports it (an error naming the member,
or a counted skip), as for any bad file, and one bad member does not stop an epoch's order.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DatasetError
from .audio_probe import AUDIO_EXTENSIONS, AUDIO_FORMATS
from .read import SeekableView
from .shard_cache import INDEX_VERSION, cache_file, read_cache, shard_stamp, write_cache

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .webdataset import WebDataset

#: Bumped when the cache's meaning changes: an older cache is then computed again.
DURATIONS_VERSION = 1


def check_audio_column(column: str) -> None:
    """Every choice of ``column`` (``"wav;flac"``) must be an audio extension; the last dotted
    part counts (``16k.flac`` is FLAC)."""
    allowed = [ext.lstrip(".") for ext in AUDIO_EXTENSIONS]
    for choice in column.split(";"):
        if choice.rpartition(".")[2].lower() not in allowed:
            raise DatasetError(
                f"WebDataset: expected the audio column {column!r} to name audio extensions "
                f"({', '.join(allowed)}), got {choice!r}"
            )


class MemberView(SeekableView):
    """A read-only, seekable file over ``size`` bytes at ``offset`` of the open file ``fd``.

    ``pread`` keeps no shared position, so views on one shard may be read from several threads.
    Reads stop after ``READ_FACTOR`` times the member's size plus 1 MiB in all: libsndfile reads
    a header twice and an OGG stream once through, and a damaged member cannot make it loop.
    """

    #: How many times over its bytes a member may be read while its header is parsed.
    READ_FACTOR = 4

    def __init__(self, fd: int, offset: int, size: int):
        super().__init__(size)
        self._fd, self._offset, self._size = fd, offset, size
        self._budget = self.READ_FACTOR * size + (1 << 20)
        #: Bytes handed to the reader so far (what a header parse cost).
        self.bytes_read = 0

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._position, self._budget - self.bytes_read)
        if want <= 0:
            return 0
        data = os.pread(self._fd, want, self._offset + self._position)
        view[: len(data)] = data
        self._position += len(data)
        self.bytes_read += len(data)
        return len(data)


def member_seconds(view: MemberView) -> float:
    """The duration a member's header declares; 0.0 when it is not audio this toolkit reads."""
    import soundfile

    try:
        with soundfile.SoundFile(view) as sound:
            frames, rate, fmt = sound.frames, sound.samplerate, sound.format
    except Exception:  # LibsndfileError, RuntimeError: not audio; the read path names the member
        return 0.0
    if fmt not in AUDIO_FORMATS or rate <= 0 or not 0 < frames < 2**62:
        return 0.0  # 2**62: libsndfile's "unknown length" (SF_COUNT_MAX) is not a duration
    return frames / rate


def _valid(values: Any, count: int) -> np.ndarray | None:
    """``values`` as float64 seconds when they are ``count`` finite numbers >= 0."""
    if not isinstance(values, list) or len(values) != count:
        return None
    if not all(type(v) in (int, float) and math.isfinite(v) and v >= 0 for v in values):
        return None
    return np.array(values, dtype=np.float64)


def shard_durations(dataset: WebDataset, shard: int, column: str) -> np.ndarray:
    """Seconds of each sample of ``dataset.shards[shard]`` in ``column``, from the cache when
    the shard is unchanged, else from the members' headers (then cached, every column computed
    so far in one file). A sample without the member raises :class:`DatasetError`."""
    item = dataset.shards[shard]
    cache = cache_file(item.path, dataset.index_dir, "dur")
    # The index's version too: the cached seconds follow the index's sample order.
    stamp = {**shard_stamp(item.path, DURATIONS_VERSION), "index_version": INDEX_VERSION}
    data = read_cache(cache, stamp)
    columns = data.get("columns") if data is not None else None
    columns = columns if isinstance(columns, dict) else {}
    cached = _valid(columns.get(column), len(item.samples))
    if cached is not None:
        return cached
    start = sum(len(s.samples) for s in dataset.shards[:shard])
    seconds = np.empty(len(item.samples), dtype=np.float64)
    limit = dataset.max_file_bytes
    for position in range(len(item.samples)):
        _, _, (offset, size) = dataset._member(start + position, column)
        if limit is not None and size > limit:
            seconds[position] = 0.0  # refused when read: its duration does not matter
            continue
        seconds[position] = member_seconds(MemberView(dataset._fd(shard), offset, size))
    columns[column] = seconds.tolist()
    write_cache(cache, {**stamp, "columns": columns})
    return seconds
