"""Read one sample's file: regular files only, and never more than ``max_file_bytes``.

A dataset from elsewhere may hold anything under an image's name: a link to ``/dev/zero`` (an
endless read), a FIFO (a read that blocks forever), a device, a multi-gigabyte file. Every
source that reads files itself (``ImageFolder``, ``Manifest``, ``Coco``, ``validate``'s lists)
reads through :func:`read_regular`, which opens with ``O_NONBLOCK`` (opening a FIFO does not
wait for a writer), checks the opened file with ``fstat`` (so a file swapped after a check is
still the one checked) and reads at most ``max_file_bytes``. What it refuses raises
:class:`~dali_pipelines.errors.FileRefusedError`, an ``OSError`` naming the file and the reason,
which the loader turns into a bad sample (raised or skipped by ``on_error``) and ``validate``
into a verdict.
"""

from __future__ import annotations

import io
import os
import stat

import numpy as np

from ..errors import DatasetError, FileRefusedError

#: The largest file a sample may be, in bytes (256 MiB: far above any real photo, far below
#: what hurts a machine). Overridable per source (``ImageFolder(max_file_bytes=...)``,
#: ``validate(max_file_bytes=...)``); ``None`` turns the bound off (special files stay refused).
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024

_KINDS = (
    (stat.S_ISDIR, "directory"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
)
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 1 << 20


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words ("character device", "FIFO", ...)."""
    return next((name for test, name in _KINDS if test(mode)), "special file")


def too_large(path: str, size: int, max_bytes: int) -> FileRefusedError:
    """The error for a file of ``size`` bytes over ``max_bytes``."""
    reason = f"file larger than max_file_bytes={max_bytes} ({size} bytes)"
    return FileRefusedError(path, reason, "too_many_bytes")


def check_limit(max_bytes: int | None, where: str) -> int | None:
    """``max_bytes`` when it is ``None`` or an int >= 1; a :class:`ValueError` subclass naming
    ``where`` otherwise."""
    if max_bytes is None or (type(max_bytes) is int and max_bytes >= 1):
        return max_bytes
    raise DatasetError(f"{where}: expected None or an int >= 1, got {max_bytes!r}")


def read_regular(
    path: str | os.PathLike[str],
    max_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    *,
    follow_symlinks: bool = True,
) -> np.ndarray:
    """The bytes of the regular file ``path`` as a 1-D uint8 array.

    Raises :class:`FileRefusedError` for a non-regular file, a file over ``max_bytes`` (also
    when it grows past the bound while being read) and a path with a NUL byte; the ``OSError``
    of a missing or unreadable file as it is. ``follow_symlinks=False`` adds ``O_NOFOLLOW``: a
    path that is a link is refused by the OS (paths already resolved and checked by
    :func:`~.paths.safe_path`).
    """
    name = os.fspath(path)
    if "\0" in name:
        raise FileRefusedError(repr(name), "expected a path without NUL bytes", "unreadable")
    flags = _FLAGS | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
    fd = os.open(name, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            reason = f"not a regular file: {file_kind(info.st_mode)}"
            raise FileRefusedError(name, reason, "not_regular_file")
        if max_bytes is not None and info.st_size > max_bytes:
            raise too_large(name, info.st_size, max_bytes)
        data = _read_at_most(fd, name, info.st_size, max_bytes)
    finally:
        os.close(fd)
    return np.frombuffer(data, dtype=np.uint8)


def _read_at_most(fd: int, name: str, size: int, max_bytes: int | None) -> bytes:
    """Read to the end, or raise once more than ``max_bytes`` came. One read for a file that
    is as large as ``fstat`` said; further reads only for a file that grew meanwhile."""
    chunks: list[bytes] = []
    total = 0
    want = size + 1  # one byte more than expected: a short read means the end was reached
    with open(fd, "rb", closefd=False) as handle:
        while True:
            if max_bytes is not None:
                want = min(want, max_bytes + 1 - total)
            chunk = handle.read(want)
            chunks.append(chunk)
            total += len(chunk)
            if max_bytes is not None and total > max_bytes:
                raise too_large(name, total, max_bytes)
            if len(chunk) < want:
                break
            want = _CHUNK
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


__all__ = ["DEFAULT_MAX_FILE_BYTES", "check_limit", "file_kind", "read_regular", "too_large"]


class SeekableView(io.RawIOBase):
    """A read-only, seekable raw file of ``length`` bytes: position bookkeeping for the views
    over part of something (a tar member, a remote object); subclasses implement ``readinto``."""

    def __init__(self, length: int):
        super().__init__()
        self._length = length
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = max(0, base + offset)
        return self._position
