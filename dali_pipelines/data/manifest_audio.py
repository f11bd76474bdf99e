"""The audio column of a :class:`~.manifest.Manifest`: whole files, or segments of them.

The column holds paths, checked like image paths (under the manifest's folder, no ``..``, no
link out). With the output's ``offset``/``duration`` columns (seconds; either may be left out:
from the start, to the end) a row is a segment: the frames ``[round(offset * rate),
round((offset + duration) * rate))`` at the file's own rate, read by
:func:`~.audio_window.read_window` (a seek, never a whole-file decode) and handed on as a float32
WAV. Rounding both ends (rather than the duration) lets back-to-back segments tile a file
without a gap or an overlap. Without those columns a row is the whole file's bytes.

Binding opens no audio file: the rate a segment needs comes from its file's header, read on the
first read of any of its segments and kept per file (two small arrays: 12 bytes a file).

**A segment past the file's end.** Manifests often round seconds to 2 decimals, so a segment
that overruns the end by at most :data:`SEGMENT_SLACK` seconds is cut at the end (the frames
there are); one that starts at or after the end, or overruns it by more, is a bad sample: a
:class:`~dali_pipelines.errors.FileRefusedError` naming the file, the row and the numbers,
which the loader raises or, with ``on_error="skip"``, skips and counts. The check needs the
header, so it happens when the sample is read, not when the manifest is bound.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DatasetError, FileRefusedError
from .audio_window import audio_header, read_window
from .columns import parse_number
from .read import DEFAULT_MAX_FILE_BYTES, read_regular

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..spec.source import AudioOutput

#: Seconds a segment may run past its file's end and be cut there rather than refused (20 ms:
#: two values rounded to 2 decimals are off by at most 10 ms together, plus a frame's rounding;
#: still shorter than a 25 ms speech analysis window).
SEGMENT_SLACK = 0.02


def segment_columns(audio: AudioOutput | None) -> list[str]:
    """The manifest columns of an audio output's segments (none for whole files)."""
    if audio is None:
        return []
    return [c for c in (audio.offset, audio.duration) if c is not None]


class ManifestAudio:
    """Readers of one manifest's audio column (its paths already checked by ``safe_path``)."""

    def __init__(
        self,
        name: str,
        files: list[str],
        table: dict[str, list[Any]],
        audio: AudioOutput,
        where: Callable[[int, str], str],
    ):
        self._name = name  # the manifest's file name, for messages
        self._files = files
        self._offsets = _seconds(table, audio.offset, where, positive=False)
        self._lengths = _seconds(table, audio.duration, where, positive=True)
        self.segments = audio.offset is not None or audio.duration is not None
        # Rows of one file share its header: an id per row, headers per distinct file.
        ids: dict[str, int] = {}
        self._file_ids = np.array([ids.setdefault(f, len(ids)) for f in files], dtype=np.int64)
        self._frames = np.full(len(ids), -1, dtype=np.int64)  # -1: not read yet
        self._rates = np.zeros(len(ids), dtype=np.int32)
        self._lock = threading.Lock()  # frames and rate of one file are written together
        self._durations: np.ndarray | None = None

    def path(self, index: int) -> str:
        """The file, plus ``@<offset>s`` for a segment."""
        if not self.segments:
            return self._files[index]
        return f"{self._files[index]}@{self._offset(index):.15g}s"

    def read(self, index: int) -> np.ndarray:
        """The sample's encoded audio: the whole file, or its segment as a float32 WAV."""
        if not self.segments:
            return read_regular(self._files[index], DEFAULT_MAX_FILE_BYTES, follow_symlinks=False)
        start, frames = self._window(index)
        return read_window(
            self._files[index],
            start,
            frames,
            max_bytes=DEFAULT_MAX_FILE_BYTES,
            follow_symlinks=False,  # checked when bound: a link swapped in later is refused
        )

    def durations(self) -> np.ndarray:
        """Seconds per row (float64): the duration column when there is one (no file opened);
        else each file's header, minus the row's offset.

        Without a duration column this opens every distinct file once (~100 us each on a local
        disk: about 2 minutes for a million files; more on a network file system); the result
        is kept, as are the headers, which segment reads then reuse. A file whose header cannot
        be read counts 0.0 s: reading the sample reports it, as for any bad file.
        """
        if self._durations is None:
            if self._lengths is not None:
                seconds = self._lengths.copy()
            else:
                seconds = np.array([self._file_seconds(i) for i in range(len(self._files))])
                if self._offsets is not None:
                    seconds = np.maximum(seconds - self._offsets, 0.0)
            self._durations = seconds
        return self._durations.copy()

    # -- segments ------------------------------------------------------------------------------
    def _offset(self, index: int) -> float:
        return 0.0 if self._offsets is None else float(self._offsets[index])

    def _header(self, index: int) -> tuple[int, int]:
        """(frames, rate) of the row's file, read once per file; raises ``FileRefusedError``."""
        file_id = self._file_ids[index]
        with self._lock:
            frames, rate = int(self._frames[file_id]), int(self._rates[file_id])
        if frames < 0:
            header = audio_header(self._files[index], follow_symlinks=False)  # a file read
            frames, rate = header.frames, header.sample_rate
            with self._lock:
                self._frames[file_id], self._rates[file_id] = frames, rate
        return frames, rate

    def _file_seconds(self, index: int) -> float:
        try:
            frames, rate = self._header(index)
        except OSError:  # FileRefusedError or a missing file: the read reports it
            return 0.0
        return frames / rate

    def _window(self, index: int) -> tuple[int, int]:
        """(start, frames) of the row's segment at its file's rate, cut at the file's end
        within :data:`SEGMENT_SLACK`; ``FileRefusedError`` for a segment outside the file."""
        total, rate = self._header(index)
        offset = self._offset(index)
        start = round(offset * rate)
        row = f"{self._name} row {index + 1}"
        seconds = total / rate
        if start >= total:
            reason = f"{row}: offset: expected < the file's {seconds:.6g} s, got {offset:.6g} s"
            raise FileRefusedError(self.path(index), reason, "truncated")
        if self._lengths is None:  # to the end of the file
            return start, total - start
        duration = float(self._lengths[index])
        stop = round((offset + duration) * rate)
        if stop - total > SEGMENT_SLACK * rate:
            reason = (
                f"{row}: offset + duration: expected <= the file's {seconds:.6g} s "
                f"(+{SEGMENT_SLACK} s), got {offset + duration:.6g} s"
            )
            raise FileRefusedError(self.path(index), reason, "truncated")
        if stop <= start:
            reason = f"{row}: duration: expected at least one frame at {rate} Hz, got {duration} s"
            raise FileRefusedError(self.path(index), reason, "unreadable")
        return start, min(stop, total) - start


def _seconds(
    table: dict[str, list[Any]],
    column: str | None,
    where: Callable[[int, str], str],
    *,
    positive: bool,
) -> np.ndarray | None:
    """The column's cells as float64 seconds: >= 0 (offsets) or > 0 (durations)."""
    if column is None:
        return None
    cells: Sequence[Any] = table[column]
    values = np.empty(len(cells), dtype=np.float64)
    bound = "> 0" if positive else ">= 0"
    for row, cell in enumerate(cells):
        value = parse_number(cell, where(row, column))
        if value < 0 or (positive and value == 0):
            raise DatasetError(f"{where(row, column)}: expected seconds {bound}, got {cell!r}")
        values[row] = value
    return values
