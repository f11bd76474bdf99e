"""One error hierarchy for the whole package.

Every error a user can meet derives from :class:`DaliPipelinesError`, so ``except
DaliPipelinesError`` catches all of them. Messages follow ``where: expected X, got Y`` and name the
file when the data is at fault.
"""

from __future__ import annotations


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
