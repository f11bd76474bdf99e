"""The moving parts of one :func:`~.validate.validate` run: cache, workers, DALI batches.

Files flow through up to three stages: the cache (a file unchanged since a run with the same
settings keeps its verdict), the header/PIL checks in a pool of workers, and, in deep mode, DALI's
CPU decoder. DALI runs on the calling thread in batches while the pool keeps checking further
files, so the two overlap.
"""

from __future__ import annotations

import math
import os
import sqlite3
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from stat import S_ISREG
from typing import Any

from ..errors import FileRefusedError
from .checks import REASONS, Check, Decoder, Reason, bad, check_bytes
from .dali_check import DaliDecodeCheck  # imports DALI only when one is made
from .source import SampleSource
from .validate_audio import AudioCheck
from .validate_cache import ResultCache

#: Decoded pixels one DALI batch may hold (~200 MB of RGB): a few huge images must not be
#: decoded 32 at a time.
DALI_BATCH_PIXELS = 1 << 26
DALI_BATCH_SIZE = 32


@dataclass(frozen=True)
class FileResult:
    """The verdict on one sample. ``reason`` is ``None`` for a good file."""

    index: int
    path: str
    ok: bool
    reason: str | None = None
    detail: str = ""
    decoder: Decoder | None = None
    format: str | None = None
    height: int | None = None
    width: int | None = None
    bytes: int | None = None
    cached: bool = False
    sample_rate: int | None = None
    channels: int | None = None
    seconds: float | None = None

    @classmethod
    def from_check(cls, index: int, path: str, check: Check, size: int | None) -> FileResult:
        return cls(index, path, bytes=size, **asdict(check))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# -- the per-file work (runs in worker threads or processes) -----------------------------

_WORKER_SOURCE: SampleSource | None = None


def set_worker_source(source: SampleSource, quiet: bool = False) -> None:
    """Initialise a worker process: its copy of the source, and PIL's warnings muted if asked."""
    global _WORKER_SOURCE
    _WORKER_SOURCE = source
    if quiet:
        mute_pil_warnings()


def mute_pil_warnings() -> None:
    """Ignore PIL's warnings ("Corrupt EXIF data", decompression-bomb warnings): a validation
    run meets thousands of odd files and reports its own verdicts. Process-wide, so only for a
    process validate owns (the CLI, worker processes)."""
    warnings.filterwarnings("ignore", module=r"PIL\.")


def _read(source: SampleSource, index: int) -> bytes | Check:
    try:
        data = source.read_bytes(index)
    except FileRefusedError as exc:  # a FIFO, a device, a file over max_file_bytes
        code: Reason = next((r for r in REASONS if r == exc.code), "unreadable")
        return bad(code, exc.reason)
    except OSError as exc:
        return bad("unreadable", f"{type(exc).__name__}: {exc.strerror or exc}")
    return data.tobytes() if hasattr(data, "tobytes") else bytes(data)


def check_chunk(
    indices: Sequence[int],
    max_pixels: int | None,
    deep: bool,
    source: SampleSource | None = None,
    audio: AudioCheck | None = None,
) -> list[tuple[int, Check, int | None]]:
    """Check samples ``indices`` of ``source`` (a worker process's own copy when ``None``):
    images from their bytes, audio files (``audio``) where they lie."""
    src = source if source is not None else _WORKER_SOURCE
    assert src is not None, "worker process without a source"
    out: list[tuple[int, Check, int | None]] = []
    for index in indices:
        if audio is not None:
            out.append((index, *audio(src.path(index))))
            continue
        data = _read(src, index)
        if isinstance(data, Check):
            out.append((index, data, None))
        else:
            out.append((index, check_bytes(data, max_pixels=max_pixels, deep=deep), len(data)))
    return out


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return None  # not a file on disk (a member of an archive, a URL): never cached
    if not S_ISREG(st.st_mode):
        return None  # a FIFO, a device: checked again every run, never opened blocking
    return st.st_size, st.st_mtime_ns


class Stages:
    """One run's state: every file's result so far, the cache, and the DALI batch being filled.
    All of it lives on the calling thread; workers only return ``check_chunk`` results."""

    def __init__(
        self,
        source: SampleSource,
        deep: bool,
        decoders: Sequence[str],
        max_pixels: int | None,
        threads: int,
        on_progress: Callable[[int], None] | None,
        quiet: bool = False,
        audio: AudioCheck | None = None,
    ):
        self.source = source
        self.audio = audio
        self.deep_pil = deep and "pil" in decoders
        self.max_pixels = max_pixels
        self.threads = threads
        self.on_progress = on_progress
        self.notes: list[str] = []
        self.cache: ResultCache | None = None
        self._results: list[FileResult | None] = [None] * len(source)
        self._stats: dict[int, tuple[int, int]] = {}
        self._dali: DaliDecodeCheck | None = None
        if deep and "dali" in decoders:
            self._dali = DaliDecodeCheck(threads, DALI_BATCH_SIZE, quiet)
        self._queue: list[tuple[int, Check, int | None]] = []
        self._queued_pixels = 0

    # -- cache ------------------------------------------------------------------------------
    def open_cache(self, path: Path, settings: str) -> None:
        try:
            self.cache = ResultCache(path, settings)
        except (sqlite3.Error, OSError) as exc:  # a read-only dataset folder, a corrupt file
            self.notes.append(f"cache {path} not used: {exc}")

    def from_cache(self) -> list[int]:
        """Fill in the verdicts the cache has; return the indices left to check."""
        todo: list[int] = []
        hits = 0
        for index in range(len(self.source)):
            path = self.source.path(index)
            stored = None
            stat = _stat(path) if self.cache is not None else None
            if self.cache is not None and stat is not None:
                self._stats[index] = stat
                # Absolute paths: the dataset named from another folder hits the same rows.
                stored = self.cache.lookup(os.path.abspath(path), *stat)
            if stored is None:
                todo.append(index)
                continue
            try:
                self._results[index] = FileResult(index, path, cached=True, **stored)
                hits += 1
            except TypeError:  # a row of another layout: check the file again
                todo.append(index)
        if hits and self.on_progress is not None:
            self.on_progress(hits)
        return todo

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()

    # -- checks -----------------------------------------------------------------------------
    def run(self, pool: Executor, todo: Sequence[int], pass_source: bool) -> None:
        # Chunks amortise the per-task cost (a pickle round trip for processes) while leaving
        # ~8 chunks per worker for balance.
        size = max(1, min(64, math.ceil(len(todo) / (self.threads * 8))))
        source = self.source if pass_source else None
        futures: list[Future[list[tuple[int, Check, int | None]]]] = [
            pool.submit(
                check_chunk, todo[i : i + size], self.max_pixels, self.deep_pil, source, self.audio
            )
            for i in range(0, len(todo), size)
        ]
        try:
            for future in as_completed(futures):
                done = 0
                for index, check, nbytes in future.result():
                    if check.ok and self._dali is not None:
                        self._enqueue(index, check, nbytes)
                    else:
                        self._finish(index, check, nbytes)
                        done += 1
                self._progress(done)
            self._flush_dali()
        except BaseException:
            # Ctrl-C or an error: drop the queued chunks instead of waiting for all of them.
            for future in futures:
                future.cancel()
            raise

    def _progress(self, count: int) -> None:
        if count and self.on_progress is not None:
            self.on_progress(count)

    def _finish(self, index: int, check: Check, nbytes: int | None) -> None:
        path = self.source.path(index)
        self._results[index] = FileResult.from_check(index, path, check, nbytes)
        stat = self._stats.get(index)
        if self.cache is not None and stat is not None and check.reason != "unreadable":
            self.cache.store(os.path.abspath(path), *stat, asdict(check) | {"bytes": nbytes})

    # -- DALI -------------------------------------------------------------------------------
    def _enqueue(self, index: int, check: Check, nbytes: int | None) -> None:
        pixels = check.pixels
        if self._queue and (
            len(self._queue) >= DALI_BATCH_SIZE or self._queued_pixels + pixels > DALI_BATCH_PIXELS
        ):
            self._flush_dali()
        self._queue.append((index, check, nbytes))
        self._queued_pixels += pixels

    def _flush_dali(self) -> None:
        if not self._queue:
            return
        items: list[tuple[int, bytes]] = []
        for index, _, _ in self._queue:
            data = _read(self.source, index)  # read again: the page cache makes this cheap
            items.append((index, data if isinstance(data, bytes) else b""))
        assert self._dali is not None
        failures = self._dali.check(items)
        for index, check, nbytes in self._queue:
            failed = failures.get(index)
            if failed is not None:  # keep the format and size the header gave
                check = replace(check, ok=False, reason=failed.reason, detail=failed.detail)
                check = replace(check, decoder="dali")
            self._finish(index, check, nbytes)
        self._progress(len(self._queue))
        self._queue.clear()
        self._queued_pixels = 0

    def results(self) -> list[FileResult]:
        missing = [i for i, result in enumerate(self._results) if result is None]
        if missing:  # only after an interrupt, which propagates before this is read
            raise RuntimeError(f"validate: {len(missing)} files were not checked")
        return [result for result in self._results if result is not None]
