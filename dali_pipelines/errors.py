"""One error hierarchy for the whole package.

Every error a user can meet derives from :class:`DaliPipelinesError`, so ``except
DaliPipelinesError`` catches all of them. Messages follow ``where: expected X, got Y`` and name the
file when the data is at fault.
"""

from __future__ import annotations

from typing import Any


class DaliPipelinesError(Exception):
    """Root of every error raised by dali_pipelines."""


class SpecError(DaliPipelinesError, ValueError):
    """A pipeline spec that cannot run: an impossible op chain, an unknown strategy, a bad file."""


class RegistryError(DaliPipelinesError, KeyError):
    """Registering a name twice, or asking for a name nobody registered."""

    def __str__(self) -> str:  # KeyError would quote the message; keep it readable
        return str(self.args[0]) if self.args else ""


class BackendUnavailableError(DaliPipelinesError, RuntimeError):
    """The requested backend or device cannot run here (DALI missing, no CUDA)."""


class DataError(DaliPipelinesError):
    """Something is wrong with the data itself; the message names the file."""


class DatasetError(DataError, ValueError):
    """A dataset root or manifest that cannot be read (missing folder, no images, bad rows)."""


class MissingFilesError(DatasetError, FileNotFoundError):
    """A dataset folder without the files it must hold: no root, no class folders, an empty class.

    A ``FileNotFoundError`` too, as torchvision raises for the same folders.
    """


class FileRefusedError(DataError, OSError):
    """A file refused before its bytes are read: not a regular file (a FIFO, a device, a
    directory), larger than ``max_file_bytes``, or a path the OS cannot take (a NUL byte).

    ``path`` names the file, ``reason`` says why in a few words ("not a regular file: FIFO"),
    ``code`` is ``validate``'s reason: ``not_regular_file``, ``too_many_bytes`` or ``unreadable``.
    An ``OSError`` too, so code that treats unreadable files as bad samples handles it.
    """

    def __init__(self, path: str, reason: str, code: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.code = code

    def __str__(self) -> str:  # OSError's own would print its args tuple
        return f"{self.path}: {self.reason}"

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:  # pickles across processes
        return type(self), (self.path, self.reason, self.code)


class TooManyPixelsError(DataError, ValueError):
    """An image whose header says it has more pixels than the ``max_pixels`` it was opened with."""

    def __init__(self, width: int, height: int, max_pixels: int):
        pixels = width * height
        super().__init__(
            f"too many pixels: {width}x{height} = {pixels} > max_pixels={max_pixels} "
            "(raise max_pixels, or None for no limit)"
        )
        self.width = width
        self.height = height
        self.max_pixels = max_pixels

    def __reduce__(self) -> tuple[type, tuple[int, int, int]]:
        return type(self), (self.width, self.height, self.max_pixels)


class SampleDecodeError(DataError, RuntimeError):
    """A sample that could not be decoded. ``path`` and ``index`` say which one."""

    def __init__(self, message: str, *, path: str | None = None, index: int | None = None):
        super().__init__(message)
        self.path = path
        self.index = index


class LoaderConfigError(DaliPipelinesError, ValueError):
    """A DataLoader argument out of range or of the wrong type; the message names the argument."""


class LoaderStateError(DaliPipelinesError, ValueError):
    """A ``state_dict`` that does not fit this loader (other spec, dataset size or world size)."""


class ContractViolation(DaliPipelinesError, AssertionError):
    """A batch that does not satisfy its contract; the message names tensor, dim and values."""


class PythonStageError(DaliPipelinesError, RuntimeError):
    """An exception raised inside a user's Python stage; names the op, the sample and its file.

    The original exception is chained as ``__cause__`` (from a worker process: with the worker's
    traceback as text). ``op``, ``index`` and ``path`` say where; each may be ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        op: str | None = None,
        index: int | None = None,
        path: str | None = None,
    ):
        super().__init__(message)
        self.op = op
        self.index = index
        self.path = path


class StorageError(DaliPipelinesError, RuntimeError):
    """Object storage that did not serve an object: it failed on every attempt within the
    deadline, refused the credentials, or a client package is missing.

    Never a bad sample to skip (the data may be fine; the storage is not): it stops the loader,
    naming the object (``url``, with any credentials redacted) and the last cause. Constructible
    from its message alone, as torch's DataLoader re-raises a worker's exception by type.
    """

    def __init__(self, message: str, *, url: str | None = None):
        super().__init__(message)
        self.url = url

    def __reduce__(self) -> tuple[Any, ...]:  # pickles across processes with its url
        return _rebuild, (type(self), str(self), self.url)


class ObjectNotFoundError(StorageError, FileNotFoundError):
    """An object that is not there (HTTP 404). A ``FileNotFoundError`` too: read for a sample,
    it is a bad sample like a missing local file (raised or skipped by ``on_error``)."""

    def __str__(self) -> str:  # OSError's own would print its args tuple
        return str(self.args[0]) if self.args else ""


def _rebuild(kind: type[StorageError], message: str, url: str | None) -> StorageError:
    return kind(message, url=url)
