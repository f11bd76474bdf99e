"""Running one Python stage on one sample: conversions, seeding, output checks, error records.

Inside the pipeline an image is an HWC numpy array. A stage receives what its callable
expects (``accepts``): the array itself, a PIL image (what a torchvision transform sees before
``ToImage``) or a CHW tensor (after it), and its result is converted back and checked against
the state the planner inferred, so a wrong dtype or shape fails here, naming the stage, rather
than deep inside DALI.

Every output is checked against what the op declared: the dtype and channels of the planned
state, and the size of its output rule (a fixed ``(h, w)``, or ``"same"``: the input's size),
so a stage returning the wrong size fails here, naming it, in every placement.

Errors: :class:`StageFailure` carries the op, the sample index and the original exception.
Inside DALI's ``python_function`` an exception only survives as text, so :func:`run_inline`
parks the original under a token and raises a ``RuntimeError`` carrying the token; the runner
turns it back into a :class:`~dali_pipelines.errors.PythonStageError` with the traceback chained
(:func:`failure_error`). ``KeyboardInterrupt`` and ``SystemExit`` travel the same way but come
out as themselves, with a note naming the op, the sample and its file.

An inline stage's time goes to the loader's profile (stage ``python``): a ``StageCall`` built
inside :func:`recording_into` (the DALI executor builds its graph there) records every run
into that profile. The op builders' signature carries no profile, hence the thread-local.
"""

from __future__ import annotations

import contextlib
import itertools
import pickle
import random
import re
import threading
import time
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
#: Raised in a stage, these propagate as themselves (with a note), never as a stage error.
INTERRUPTS = (KeyboardInterrupt, SystemExit)
#: The profile stage calls built on this thread record into (see :func:`recording_into`).
_BUILDING = threading.local()


@contextlib.contextmanager
def recording_into(recorder: Any) -> Iterator[None]:
    """Stage calls built in this block record their runs' time into ``recorder`` (an object
    with ``record(stage, start, end)``: the loader's profile)."""
    previous = getattr(_BUILDING, "recorder", None)
    _BUILDING.recorder = recorder
    try:
        yield
    finally:
        _BUILDING.recorder = previous


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
    """One Python stage, ready to run on HWC arrays: ``call(image, seed) -> image``.

    ``expected``: the planned output state; ``rule``: the op's declared output rule (its
    ``"same"`` size is checked against each input's size).
    """

    def __init__(
        self,
        label: str,
        call: Callable[..., Any],
        accepts: Accepts,
        takes_rng: bool,
        expected: ImageState,
        rule: OutputRule | None = None,
    ):
        self.label = label
        self.call = call
        self.accepts = accepts
        self.takes_rng = takes_rng
        self.expected = expected
        self.rule = rule
        #: Where an inline run's time goes (built inside :func:`recording_into`), else None.
        self.recorder: Any = getattr(_BUILDING, "recorder", None)

    def __call__(self, image: np.ndarray, seed: int) -> np.ndarray:
        value = to_input(image, self.accepts)
        kwargs = {"rng": np.random.default_rng(seed)} if self.takes_rng else {}
        if self.accepts == "numpy":  # a pure function of (image, rng): globals stay untouched
            out = self.call(value, **kwargs)
        else:  # torchvision-style: draws from the global RNGs
            with seeded_globals(seed):
                out = self.call(value, **kwargs)
        return self._check(to_hwc(out), (int(image.shape[0]), int(image.shape[1])))

    def _check(self, out: np.ndarray, size_in: tuple[int, int]) -> np.ndarray:
        exp = self.expected
        if out.dtype != np.dtype(exp.dtype):
            raise TypeError(
                f"returned dtype {out.dtype}, expected {exp.dtype} (declare the output dtype "
                "when registering the op if it changes)"
            )
        if out.shape[2] != exp.channels:
            raise ValueError(f"returned {out.shape[2]} channels, expected {exp.channels}")
        size = (int(out.shape[0]), int(out.shape[1]))
        fixed = exp.fixed_size
        if fixed is not None and size != fixed:
            raise ValueError(f"returned size {size}, expected {fixed} (the declared size)")
        if fixed is None and self.rule is not None and self.rule.size == "same" and size != size_in:
            raise ValueError(
                f"returned size {size}, expected {size_in} (the input's: the op declares "
                'size="same"; declare a fixed (h, w) or size="varies" if it changes the size)'
            )
        return out

    def run(self, image: np.ndarray, seed: int, index: int | None) -> np.ndarray:
        """Like calling it, with a failure (or an interrupt) wrapped in :class:`StageFailure`."""
        try:
            return self(image, seed)
        except (Exception, *INTERRUPTS) as exc:
            raise StageFailure(self.label, index, exc) from exc


def run_inline(stage: StageCall, image: np.ndarray, seed: Any, index: Any) -> np.ndarray:
    """Body of DALI's ``python_function``: park a failure and raise a token DALI can carry."""
    start = time.perf_counter()
    try:
        out = stage.run(image, int(seed), int(index))
        if stage.recorder is not None:
            stage.recorder.record("python", start, time.perf_counter())
        return out
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
    """The user-facing error: op, sample index and file (see :func:`failure_error`)."""
    cause = failure.cause
    return PythonStageError(
        f"python stage {failure.op!r} failed on {_where(failure, path)}: "
        f"{type(cause).__name__}: {cause}",
        op=failure.op,
        index=failure.index,
        path=path,
    )


def _where(failure: StageFailure, path: str | None) -> str:
    where = f"sample {failure.index}" if failure.index is not None else "a sample"
    return where if path is None else f"{where} ({path})"


def cause_of(failure: StageFailure) -> BaseException:
    """What to chain: the original exception, or its remote traceback from a worker."""
    if failure.remote_tb:
        cause = failure.cause
        cause.__cause__ = RemoteTraceback(failure.remote_tb)
        return cause
    return failure.cause


def failure_error(failure: StageFailure, path: str | None) -> BaseException:
    """What to raise for ``failure`` (``raise failure_error(...)``, chaining is set here).

    A :class:`~dali_pipelines.errors.PythonStageError` with the original exception chained;
    for ``KeyboardInterrupt``/``SystemExit`` the interrupt itself, with a note naming the op,
    the sample and its file (its worker traceback, when it has one, chained).
    """
    cause = cause_of(failure)
    if isinstance(cause, INTERRUPTS):
        add_note(cause, f"raised in python stage {failure.op!r} on {_where(failure, path)}")
        cause.__suppress_context__ = True
        return cause
    error = stage_error(failure, path)
    error.__cause__ = cause
    return error


def add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)`` (Python >= 3.11), or the ``__notes__`` list it fills."""
    adder = getattr(exc, "add_note", None)
    if adder is not None:
        adder(note)
    else:  # pragma: no cover - Python 3.10
        notes = getattr(exc, "__notes__", None)
        if notes is None:
            notes = []
            setattr(exc, "__notes__", notes)  # noqa: B010
        notes.append(note)
