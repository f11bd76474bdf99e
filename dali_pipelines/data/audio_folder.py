"""``AudioFolder``: class folders of .wav/.flac/.ogg files, whole or cut into windows.

Files are found exactly as :class:`~.folder.ImageFolder` finds images (sorted classes, files in
sorted order per class, the same errors). Construction reads every file's header (cached on
disk, :mod:`.audio_headers`) and never decodes: durations for a length-bucketing order and the
windows of long recordings come from the headers.

With ``window_seconds`` every file is cut into windows of that many seconds at its own rate,
one every ``hop_seconds``; each window is a sample, read by :func:`~.audio_window.read_window`
(a seek and the window's frames only: memory follows the window, not the file). The windows are
kept per file (count, length, hop), not per window, so a corpus of long recordings indexes in
memory proportional to its files.

A file whose header is unusable (not audio, truncated, empty, a FIFO) stays in the list: its
duration is 0 and, windowed, it is one window. Reading it fails with an ``OSError`` naming the
file, or its bytes fail the loader's audio guard, so the loader's ``on_error`` decides (raise,
or a counted skip) as for any bad image; ``dali-pipelines validate`` lists such files up front.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import DatasetError
from .audio_headers import BadHeader, Header, cache_path, load_headers
from .audio_probe import AUDIO_EXTENSIONS, AudioHeader
from .audio_window import audio_header, read_window
from .folder import find_class_samples
from .read import DEFAULT_MAX_FILE_BYTES, check_limit, read_regular

Last = Literal["pad", "drop", "keep"]
LAST_CHOICES: tuple[Last, ...] = ("pad", "drop", "keep")


def window_count(frames: int, window: int, hop: int, last: Last) -> tuple[int, int]:
    """(windows, frames of the last one) for a file of ``frames`` frames.

    Windows start every ``hop`` frames; every full window is kept. Frames after the last full
    window (or a file shorter than one window) make one partial window at the next start:
    padded to ``window`` frames (``pad``), dropped (``drop``) or kept short (``keep``).
    """
    full = 0 if frames < window else (frames - window) // hop + 1
    covered = (full - 1) * hop + window if full else 0
    start = full * hop
    if covered < frames and start < frames and last != "drop":
        return full + 1, window if last == "pad" else frames - start
    return full, window


def _seconds(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _positive(value: float | None, where: str) -> float | None:
    if value is None:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value <= 0:
        raise DatasetError(f"AudioFolder.{where}: expected a number of seconds > 0, got {value!r}")
    return float(value)


class AudioFolder:
    """A folder of class sub-folders of audio files (WAV, FLAC, OGG), as a loader source.

    ``classes``, ``class_to_idx``, ``samples`` ((path, class index) per file) and ``targets``
    (class index per file) follow ``ImageFolder``; ``headers`` holds each file's header
    (:class:`~.audio_probe.AudioHeader`, or :class:`~.audio_headers.BadHeader` saying why it
    has none). Without windows a sample is a file; with ``window_seconds`` a sample is a window
    and ``len`` counts windows (:meth:`window` says which file and frames).

    ``header_cache``: ``True`` keeps the headers in ``<root>/.dali-pipelines-audio-headers.json``,
    a path keeps them in that folder, ``False`` reads every header each time.
    ``max_file_bytes`` bounds a whole file read (and a window's WAV), as for images.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        extensions: tuple[str, ...] = AUDIO_EXTENSIONS,
        window_seconds: float | None = None,
        hop_seconds: float | None = None,
        last: Last = "pad",
        allow_empty: bool = False,
        header_cache: str | os.PathLike[str] | bool = True,
        max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    ):
        self.max_file_bytes = check_limit(max_file_bytes, "AudioFolder.max_file_bytes")
        self.window_seconds = _positive(window_seconds, "window_seconds")
        self.hop_seconds = _positive(hop_seconds, "hop_seconds")
        if self.hop_seconds is not None and self.window_seconds is None:
            raise DatasetError(
                f"AudioFolder.hop_seconds: expected window_seconds with it, got hop_seconds="
                f"{hop_seconds!r} and window_seconds=None"
            )
        if last not in LAST_CHOICES:
            raise DatasetError(
                f"AudioFolder.last: expected one of {list(LAST_CHOICES)}, got {last!r}"
            )
        self.last: Last = last
        self.root = Path(root).expanduser()
        self.classes, self.samples = find_class_samples(
            self.root, extensions, allow_empty, "AudioFolder"
        )
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        self.targets = [target for _, target in self.samples]
        self.header_cache = cache_path(self.root, header_cache)
        paths = [path for path, _ in self.samples]
        headers, self._stamps = load_headers(self.root, paths, self.header_cache)
        self.headers: list[Header] = headers
        self._plan_windows()

    # -- windows -------------------------------------------------------------------------------
    def _frames_per(self, header: AudioHeader) -> tuple[int, int]:
        """(window, hop) in frames at the file's own rate."""
        assert self.window_seconds is not None
        window = max(1, round(self.window_seconds * header.sample_rate))
        hop_seconds = self.hop_seconds if self.hop_seconds is not None else self.window_seconds
        return window, max(1, round(hop_seconds * header.sample_rate))

    def _plan_windows(self) -> None:
        """Per file: its windows (a file is one sample without windows), their length and hop."""
        count = len(self.samples)
        self._count = np.ones(count, dtype=np.int64)
        self._window = np.zeros(count, dtype=np.int64)  # 0: the whole file (or header unknown)
        self._hop = np.zeros(count, dtype=np.int64)
        self._tail = np.zeros(count, dtype=np.int64)
        if self.window_seconds is not None:
            for i, header in enumerate(self.headers):
                if isinstance(header, AudioHeader):
                    window, hop = self._frames_per(header)
                    windows, tail = window_count(header.frames, window, hop, self.last)
                    self._count[i], self._window[i], self._hop[i] = windows, window, hop
                    self._tail[i] = tail
        self._first = np.concatenate(([0], np.cumsum(self._count)[:-1])).astype(np.int64)
        self._total = int(self._count.sum())
        if self._total == 0:
            raise DatasetError(
                f"AudioFolder: expected at least one window in {self.root}, got none (every "
                f"file is shorter than window_seconds={self.window_seconds} and last='drop')"
            )

    def window(self, index: int) -> tuple[int, int, int]:
        """(file index into ``samples``, start frame, frames) of sample ``index``; frames is 0
        for a whole file (no windows, or a file whose header is unusable)."""
        if not 0 <= index < self._total:
            raise IndexError(f"AudioFolder index: expected 0 <= index < {self._total}, got {index}")
        file = int(np.searchsorted(self._first, index, side="right")) - 1
        k = index - int(self._first[file])
        frames = int(self._tail[file] if k == self._count[file] - 1 else self._window[file])
        return file, k * int(self._hop[file]), frames

    @property
    def windowed(self) -> bool:
        return self.window_seconds is not None

    def durations(self) -> np.ndarray:
        """Seconds of every sample (float64), from the headers: a file's length, or a window's
        (a kept partial window its true length, a padded one the full window); 0.0 for a file
        whose header is unusable."""
        per_file = np.zeros(len(self.samples), dtype=np.float64)
        tails = np.zeros(len(self.samples), dtype=np.float64)
        for i, header in enumerate(self.headers):
            if isinstance(header, AudioHeader):
                rate = header.sample_rate
                whole = not self.windowed
                per_file[i] = header.frames / rate if whole else self._window[i] / rate
                tails[i] = per_file[i] if whole else self._tail[i] / rate
        out = np.repeat(per_file, self._count)
        ends = self._first + self._count - 1
        has = self._count > 0
        out[ends[has]] = tails[has]
        return out

    # -- SampleSource --------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._total

    def __repr__(self) -> str:
        windows = f", window_seconds={self.window_seconds:g}" if self.windowed else ""
        return (
            f"AudioFolder(root={str(self.root)!r}, files={len(self.samples)}, "
            f"samples={len(self)}, classes={len(self.classes)}{windows})"
        )

    def read_bytes(self, index: int) -> np.ndarray:
        """The file's bytes, or the window as a float32 WAV (:func:`read_window`)."""
        file, start, frames = self.window(index)
        path = self.samples[file][0]
        if not self.windowed:
            return read_regular(path, self.max_file_bytes)
        pad = None
        if frames == 0:  # header unusable at construction: read it now (raises naming the file)
            frames, _ = self._frames_per(audio_header(path))
        if self.last == "pad":
            pad = frames
        return read_window(path, start, frames, pad_to=pad, max_bytes=self.max_file_bytes)

    def label(self, index: int) -> int:
        return self.targets[self.window(index)[0]]

    def path(self, index: int) -> str:
        """The file, or ``<file>@<start seconds>s`` for a window (messages say where)."""
        file, start, _ = self.window(index)
        path = self.samples[file][0]
        header = self.headers[file]
        if not self.windowed or not isinstance(header, AudioHeader):
            return path
        return f"{path}@{_seconds(start / header.sample_rate)}s"

    def fingerprint(self) -> str:
        """The files (relative paths, sizes, mtimes), labels and window options, hashed."""
        digest = hashlib.sha256()
        options = (self.window_seconds, self.hop_seconds, self.last if self.windowed else None)
        digest.update(f"{options}\n".encode())
        for (path, label), stamp in zip(self.samples, self._stamps):
            digest.update(f"{os.path.relpath(path, self.root)}\0{label}\0{stamp}\n".encode())
        return digest.hexdigest()[:16]

    # -- convenience ---------------------------------------------------------------------------
    def __getitem__(self, index: int) -> tuple[np.ndarray, int, int]:
        """(waveform float32 (channels, frames) at the file's rate, its rate, label), decoded
        with soundfile (the reference decoder); for inspection, not the loader's path."""
        import soundfile

        data = self.read_bytes(index)
        wave, rate = soundfile.read(io.BytesIO(data.tobytes()), dtype="float32", always_2d=True)
        return np.ascontiguousarray(wave.T), int(rate), self.label(index)

    def bad_headers(self) -> dict[str, BadHeader]:
        """Files whose header is unusable, and why (they fail or are skipped when read)."""
        return {
            path: header
            for (path, _), header in zip(self.samples, self.headers)
            if isinstance(header, BadHeader)
        }


__all__ = ["LAST_CHOICES", "AudioFolder", "window_count"]
