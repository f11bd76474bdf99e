"""Audio headers of a folder's files, cached on disk like the WebDataset tar index.

An audio source needs every file's frames and rate up front (durations for a length-bucketing
order, windows for chunked reading), but never its samples: :func:`~.audio_window.audio_header`
reads the header only. A corpus of many files still pays an open and a parse per file, so the
headers are kept in one JSON file per folder, each entry stamped with its file's size and
mtime: a file rewritten since is read again, entries of files gone are dropped, and the cache is
rewritten only when something changed. A file whose header is unusable is cached with the
reason (``validate``'s code and the message), so it is not parsed again on every start either.

The cache is bounded: it is read only up to :data:`MAX_CACHE_BYTES` and not written beyond it
(a larger corpus is read header by header each time). A cache that cannot be read (missing,
damaged, another version) is rebuilt; one that cannot be written (a read-only folder) leaves the
headers in memory, with a debug log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FileRefusedError
from .audio_probe import AUDIO_FORMATS, AudioHeader
from .audio_window import audio_header

log = logging.getLogger(__name__)

#: Bumped when an entry's meaning changes: a cache of another version is rebuilt.
HEADERS_VERSION = 1
#: The cache file's name in the dataset's root (``header_cache=True``).
CACHE_NAME = ".dali-pipelines-audio-headers.json"
#: The largest cache read or written (~300 bytes an entry: about 200,000 files).
MAX_CACHE_BYTES = 64 << 20


@dataclass(frozen=True)
class BadHeader:
    """Why a file's header is unusable: ``validate``'s reason code and the message."""

    code: str
    message: str


Header = AudioHeader | BadHeader
#: (size, mtime_ns) of a regular file; ``None`` for anything else (never cached).
Stamp = tuple[int, int] | None


def cache_path(root: Path, header_cache: str | os.PathLike[str] | bool) -> str | None:
    """Where ``root``'s cache lives: in the root (``True``), nowhere (``False``), or in the folder
    ``header_cache``, named by a digest of the root's real path (two roots do not collide)."""
    if header_cache is False:
        return None
    if header_cache is True:
        return str(root / CACHE_NAME)
    digest = hashlib.sha256(os.path.realpath(root).encode()).hexdigest()[:16]
    return os.path.join(os.fspath(header_cache), f"{root.name}.{digest}.headers.json")


def stamp_of(path: str) -> Stamp:
    try:
        info = os.stat(path)
    except (OSError, ValueError):  # missing, a dangling link, a NUL byte
        return None
    return (info.st_size, info.st_mtime_ns) if stat.S_ISREG(info.st_mode) else None


def probe_file(path: str) -> Header:
    """The file's header, or why it has none (never raises for a bad file)."""
    try:
        return audio_header(path)
    except FileRefusedError as exc:
        return BadHeader(exc.code, exc.reason)
    except OSError as exc:
        return BadHeader("unreadable", f"cannot read the file: {exc.strerror or exc}")


def _entry(stamp: tuple[int, int], header: Header) -> list[Any]:
    if isinstance(header, BadHeader):
        return [*stamp, header.code, header.message]
    return [*stamp, header.frames, header.sample_rate, header.channels, header.format]


def _parse(entry: Any) -> tuple[tuple[int, int], Header] | None:
    """An entry back as (stamp, header); ``None`` when it is malformed (then probed again)."""
    if not isinstance(entry, list) or len(entry) not in (4, 6):
        return None
    size, mtime, *rest = entry
    if type(size) is not int or type(mtime) is not int:
        return None
    if len(rest) == 2 and all(isinstance(v, str) for v in rest):
        return (size, mtime), BadHeader(rest[0], rest[1])
    if len(rest) == 4:
        frames, rate, channels, fmt = rest
        numbers = (frames, rate, channels)
        if all(type(v) is int and v > 0 for v in numbers) and fmt in AUDIO_FORMATS:
            return (size, mtime), AudioHeader(frames, rate, channels, fmt)
    return None


def _read(cache: str) -> dict[str, Any]:
    try:
        with open(cache, "rb") as handle:
            raw = handle.read(MAX_CACHE_BYTES + 1)
        if len(raw) > MAX_CACHE_BYTES:
            return {}
        data = json.loads(raw)
    except (OSError, ValueError, RecursionError):  # missing, damaged, not UTF-8
        return {}
    if not isinstance(data, dict) or data.get("version") != HEADERS_VERSION:
        return {}
    entries = data.get("files")
    return entries if isinstance(entries, dict) else {}


def _write(cache: str, entries: dict[str, list[Any]]) -> None:
    text = json.dumps({"version": HEADERS_VERSION, "files": entries})
    if len(text) > MAX_CACHE_BYTES:
        log.debug(
            "audio header cache %s: %d bytes over MAX_CACHE_BYTES, not written", cache, len(text)
        )
        return
    temporary = f"{cache}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(cache) or ".", exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, cache)  # atomic: ranks building one cache do not collide
    except OSError as exc:
        log.debug("audio header cache %s not written (%s): headers kept in memory", cache, exc)
        with contextlib.suppress(OSError):
            os.remove(temporary)


def load_headers(
    root: Path, paths: Sequence[str], cache: str | None
) -> tuple[list[Header], list[Stamp]]:
    """The header of every file in ``paths`` (under ``root``) and its stamp, from ``cache``
    where an entry's size and mtime still match, else read (and the cache updated)."""
    old = _read(cache) if cache is not None else {}
    entries: dict[str, list[Any]] = {}
    headers: list[Header] = []
    stamps: list[Stamp] = []
    for path in paths:
        key = os.path.relpath(path, root)
        stamp = stamp_of(path)
        known = _parse(old.get(key))
        if stamp is not None and known is not None and known[0] == stamp:
            header = known[1]
        else:
            header = probe_file(path)
        if stamp is not None:  # a FIFO or a missing file is asked again next time
            entries[key] = _entry(stamp, header)
        headers.append(header)
        stamps.append(stamp)
    if cache is not None and entries != old:
        _write(cache, entries)
    return headers, stamps


__all__ = [
    "CACHE_NAME",
    "HEADERS_VERSION",
    "MAX_CACHE_BYTES",
    "BadHeader",
    "Header",
    "cache_path",
    "load_headers",
    "probe_file",
]
