"""Running one Python stage on one sample: conversions, seeding, output checks, error records.

Inside the pipeline an image is an HWC numpy array. A stage receives what its callable
expects (``accepts``): the array itself, a PIL image (what a torchvision transform sees before
``ToImage``) or a CHW tensor (after it), and its result is converted back and checked against
the state the planner inferred, so a wrong dtype or shape fails here, naming the stage, rather
than deep inside DALI.

Errors: :class:`StageFailure` carries the op, the sample index and the original exception.
Inside DALI's ``python_function`` an exception only survives as text, so :func:`run_inline`
parks the original under a token and raises a ``RuntimeError`` carrying the token; the runner
turns it back into a :class:`~dali_pipelines.errors.PythonStageError` with the traceback chained
(:func:`stage_error_from`).
"""

from __future__ import annotations

import contextlib
import itertools
import pickle
import random
import re
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import PythonStageError
from ..state import ImageState
from .registry import Accepts, OutputRule

_TAG = "[python-stage-failure:"
_TAG_RE = re.compile(re.escape(_TAG) + r"(\d+)\]")
_PARKED: dict[int, StageFailure] = {}
_PARKED_LOCK = threading.Lock()
_TOKENS = itertools.count(1)
_MAX_PARKED = 64  # failures nobody collected (a pipeline dropped mid-error) must not pile up


@dataclass(frozen=True)
class InProcessStage:
    """A callable held by a spec op (from ``from_torchvision``): it runs, it never serializes."""

    call: Callable[..., Any]
    accepts: Accepts
    output: OutputRule
    #: A readable name for messages and ``assess`` (the class name, ``<lambda>``, ...).
    label: str
    #: Why it stays in Python (shown by ``assess``).
    reason: str = ""
    #: Its position in the original ``Compose`` (``None`` when not from a Compose).
    position: int | None = None
    takes_rng: bool = False

    @property
    def origin(self) -> str:
        """``module.qualname`` of the callable: stable across processes (for fingerprints)."""
        # Functions, lambdas and classes name themselves; an instance by its class.
        target: Any = self.call if hasattr(self.call, "__qualname__") else type(self.call)
        return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"


class StageFailure(Exception):
    """An exception raised by a stage's callable, with where it happened."""

    def __init__(self, op: str, index: int | None, cause: BaseException, remote_tb: str = ""):
        super().__init__(f"{op}: {type(cause).__name__}: {cause}")
        self.op = op
        self.index = index
        self.cause = cause
        self.remote_tb = remote_tb

    @classmethod
    def from_record(cls, record: tuple[str, int | None, BaseException, str]) -> StageFailure:
        """The failure a worker process sent as :func:`failure_record`."""
        op, index, cause, tb = record
        return cls(op, index, cause, remote_tb=tb)


def failure_record(failure: StageFailure) -> tuple[str, int | None, BaseException, str]:
    """``failure`` as picklable data for the trip from a worker process (frames travel as text:
    they do not pickle)."""
    tb = failure.remote_tb or "".join(traceback.format_exception(failure.cause))
    return (failure.op, failure.index, picklable(failure.cause), tb)


def picklable(exc: BaseException) -> BaseException:
    """``exc`` itself when it survives pickling (its traceback dropped), else its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    exc.__traceback__ = None
    return exc


@contextlib.contextmanager
def seeded_globals(seed: int) -> Iterator[None]:
    """Seed torch's, numpy's and Python's global RNGs for one call, then restore them.

    torchvision transforms and most user classes draw from these; seeding them per sample makes
    such a stage a function of (seed, epoch, index) like every other op.
    """
    import torch

    py_state = random.getstate()
    np_state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed % 2**32)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def to_input(image: np.ndarray, accepts: Accepts) -> Any:
    """The HWC array as the stage's callable expects it."""
    if accepts == "numpy":
        return image
    if accepts == "pil":
        from PIL import Image

        return Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)
    import torch

    if not image.flags.writeable:  # torch warns on read-only arrays
        image = image.copy()
    chw = torch.from_numpy(image).permute(2, 0, 1)
    if accepts == "image":
        from torchvision import tv_tensors

        return tv_tensors.Image(chw)
    return chw


def to_hwc(out: Any) -> np.ndarray:
    """A stage's result (array, PIL image or CHW tensor) as an HWC numpy array."""
    if isinstance(out, np.ndarray):
        array = out
    elif hasattr(out, "getbands"):  # a PIL image (no PIL import for the common cases)
        array = np.asarray(out)
    elif hasattr(out, "permute") and hasattr(out, "detach"):
        tensor = out.detach().cpu()
        if tensor.ndim == 3:
            tensor = tensor.permute(1, 2, 0)
        array = tensor.contiguous().numpy()
    else:
        raise TypeError(
            f"expected an image (numpy array, PIL image or tensor), got {type(out).__name__}"
        )
    if array.ndim == 2:
        array = array[:, :, None]
    if not array.flags.writeable:  # PIL's arrays are read-only; torch warns on those
        return array.copy()
    return np.ascontiguousarray(array)


class StageCall:
    """One Python stage, ready to run on HWC arrays: ``call(image, seed) -> image``."""

    def __init__(
        self,
        label: str,
        call: Callable[..., Any],
        accepts: Accepts,
        takes_rng: bool,
        expected: ImageState,
    ):
        self.label = label
        self.call = call
        self.accepts = accepts
        self.takes_rng = takes_rng
        self.expected = expected

    def __call__(self, image: np.ndarray, seed: int) -> np.ndarray:
        value = to_input(image, self.accepts)
        kwargs = {"rng": np.random.default_rng(seed)} if self.takes_rng else {}
        if self.accepts == "numpy":  # a pure function of (image, rng): globals stay untouched
            out = self.call(value, **kwargs)
        else:  # torchvision-style: draws from the global RNGs
            with seeded_globals(seed):
                out = self.call(value, **kwargs)
        return self._check(to_hwc(out))

    def _check(self, out: np.ndarray) -> np.ndarray:
        exp = self.expected
        if out.dtype != np.dtype(exp.dtype):
            raise TypeError(
                f"returned dtype {out.dtype}, expected {exp.dtype} (declare the output dtype "
                "when registering the op if it changes)"
            )
        if out.shape[2] != exp.channels:
            raise ValueError(f"returned {out.shape[2]} channels, expected {exp.channels}")
        fixed = exp.fixed_size
        if fixed is not None and out.shape[:2] != fixed:
            raise ValueError(f"returned size {out.shape[:2]}, expected {fixed}")
        return out

    def run(self, image: np.ndarray, seed: int, index: int | None) -> np.ndarray:
        """Like calling it, with a failure wrapped in :class:`StageFailure`."""
        try:
            return self(image, seed)
        except Exception as exc:
            raise StageFailure(self.label, index, exc) from exc


def run_inline(stage: StageCall, image: np.ndarray, seed: Any, index: Any) -> np.ndarray:
    """Body of DALI's ``python_function``: park a failure and raise a token DALI can carry."""
    try:
        return stage.run(image, int(seed), int(index))
    except StageFailure as failure:
        # Keep the traceback as text: its frames lead (f_back) to DALI's, which hold the
        # pipeline, and a parked failure must not keep a dropped pipeline alive.
        failure.remote_tb = "".join(traceback.format_exception(failure.cause))
        failure.cause.__traceback__ = None
        failure.__traceback__ = failure.__cause__ = failure.__context__ = None
        with _PARKED_LOCK:
            token = next(_TOKENS)
            _PARKED[token] = failure
            while len(_PARKED) > _MAX_PARKED:
                _PARKED.pop(next(iter(_PARKED)))
        raise RuntimeError(f"{_TAG}{token}] {failure}") from None


def take_parked(exc: BaseException) -> StageFailure | None:
    """The failure whose token ``exc``'s message carries (removed from the park)."""
    match = _TAG_RE.search(str(exc))
    if match is None:
        return None
    with _PARKED_LOCK:
        return _PARKED.pop(int(match.group(1)), None)


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text (chained as cause)."""

    def __init__(self, text: str):
        super().__init__(text)

    def __str__(self) -> str:
        return f'\n"""\n{self.args[0]}"""'


def stage_error(failure: StageFailure, path: str | None) -> PythonStageError:
    """The user-facing error: op, sample index and file; raise it ``from`` :func:`cause_of`."""
    where = f"sample {failure.index}" if failure.index is not None else "a sample"
    if path is not None:
        where += f" ({path})"
    cause = failure.cause
    return PythonStageError(
        f"python stage {failure.op!r} failed on {where}: {type(cause).__name__}: {cause}",
        op=failure.op,
        index=failure.index,
        path=path,
    )


def cause_of(failure: StageFailure) -> BaseException:
    """What to chain: the original exception, or its remote traceback from a worker."""
    if failure.remote_tb:
        cause = failure.cause
        cause.__cause__ = RemoteTraceback(failure.remote_tb)
        return cause
    return failure.cause


def stage_error_from(exc: BaseException, path_of: Callable[[int], str]) -> PythonStageError | None:
    """A :class:`PythonStageError` when ``exc`` (from ``pipe.run()``) came from a stage."""
    failure = take_parked(exc)
    if failure is None:
        return None
    path = path_of(failure.index) if failure.index is not None and failure.index >= 0 else None
    error = stage_error(failure, path)
    error.__cause__ = cause_of(failure)
    return error
