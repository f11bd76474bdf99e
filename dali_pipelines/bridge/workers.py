"""The worker side of a split plan: Python stages and per-sample torch ops in processes.

Each worker replays a sample's draws (the generator seeded by (seed, epoch, index), advanced
through the DALI segment's ops from the decoded size), so every later op draws exactly what
:meth:`Plan.draw` would, but with the image's real size; it then runs the stages and ops of its
slice and returns the image with the drawn parameters of the batched tail.

Workers are forked (a lambda or a user class from a translated Compose cannot be pickled for
``spawn``), all at once and before the loader's DALI threads start. Garbage is frozen across the
fork: a DALI pipeline left in a reference cycle, collected in a child, would wait forever for
threads the child does not have.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backends.dali.source import sample_rng
from ..ops.base import Args, Size
from ..ops.python import PythonParams, stage_call
from ..plan import Step
from .stage import StageCall, StageFailure

Item = tuple[int, np.ndarray, Size]  # (sample index, image after the DALI segment, decoded size)
#: ("ok", index, image, tail args) or ("error", op, index, exception, traceback text).
Result = tuple[Any, ...]


def as_hwc(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    return x.permute(1, 2, 0).contiguous().numpy()  # type: ignore[no-any-return]


def as_chw(x: Any) -> Any:
    import torch

    if not isinstance(x, np.ndarray):
        return x
    if not x.flags.writeable:
        x = x.copy()
    return torch.from_numpy(x).permute(2, 0, 1)


def _size(x: Any) -> Size:
    return (int(x.shape[0]), int(x.shape[1])) if isinstance(x, np.ndarray) else tuple(x.shape[1:])


@dataclass
class WorkerProgram:
    """What the workers run for each sample: ``steps[split:tail]``, then the tail's draws."""

    steps: tuple[Step, ...]
    split: int
    tail: int
    seed: int
    _calls: dict[int, StageCall] = field(default_factory=dict, repr=False)

    def _call(self, step: Step) -> StageCall:
        # Built on first use in each process: a registered class is instantiated there.
        if step.index not in self._calls:
            assert isinstance(step.params, PythonParams)
            self._calls[step.index] = stage_call(step.params, step.state_in)
        return self._calls[step.index]

    def run_sample(
        self, epoch: int, index: int, image: np.ndarray, decoded: Size
    ) -> tuple[np.ndarray, list[Args]]:
        rng = sample_rng(self.seed, epoch, index)
        size = decoded
        for step in self.steps[: self.split]:  # replay: the DALI segment drew these already
            _, size = step.op.draw(step.params, size, rng)
        x: Any = image
        for step in self.steps[self.split : self.tail]:
            args, _ = step.op.draw(step.params, _size(x), rng)
            if isinstance(step.params, PythonParams):
                x = self._call(step).run(as_hwc(x), int(args["seed"]), index)
            else:
                try:
                    x = step.op.apply_torch(step.params, as_chw(x), args)
                except Exception as exc:
                    label = f"{step.op.name} (after a Python stage)"
                    raise StageFailure(label, index, exc) from exc
        tail_args = []
        size = _size(x)
        for step in self.steps[self.tail :]:
            args, size = step.op.draw(step.params, size, rng)
            tail_args.append(args)
        return np.ascontiguousarray(as_hwc(x)), tail_args

    def run_items(self, epoch: int, items: Sequence[Item]) -> list[Result]:
        out: list[Result] = []
        for index, image, decoded in items:
            try:
                result, tail_args = self.run_sample(epoch, index, image, decoded)
            except StageFailure as failure:
                tb = "".join(traceback.format_exception(failure.cause))
                return [("error", failure.op, failure.index, _picklable(failure.cause), tb)]
            out.append(("ok", index, result, tail_args))
        return out


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    exc.__traceback__ = None  # travels as text; frames do not pickle
    return exc


_PROGRAM: WorkerProgram | None = None


def _init_worker(program: WorkerProgram) -> None:
    import torch

    global _PROGRAM
    _PROGRAM = program
    torch.set_num_threads(1)  # one process per core; intra-op threads would oversubscribe


def _run_chunk(epoch: int, items: Sequence[Item]) -> list[Result]:
    assert _PROGRAM is not None
    return _PROGRAM.run_items(epoch, items)


def _ready() -> bool:
    return True


class StagePool:
    """``workers`` forked processes running a :class:`WorkerProgram`; 0 runs it in-process."""

    def __init__(self, program: WorkerProgram, workers: int):
        self.program = program
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        if workers > 0:
            self._start()

    def _start(self) -> None:
        gc.collect()
        gc.freeze()  # a child never collects what the parent left behind (see module doc)
        try:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker,
                initargs=(self.program,),
            )
            # The first submit forks every worker: do it now, not once DALI's threads run.
            for future in [self._executor.submit(_ready) for _ in range(self.workers)]:
                future.result()
        finally:
            gc.unfreeze()

    def submit(self, epoch: int, items: Sequence[Item]) -> list[Future[list[Result]]]:
        """One task per worker (contiguous chunks keep the results in sample order)."""
        if self._executor is None and self.workers > 0:
            self._start()  # after a crash: a fresh pool for the next batch
        if self._executor is None:
            done: Future[list[Result]] = Future()
            done.set_result(self.program.run_items(epoch, items))
            return [done]
        chunks = np.array_split(np.arange(len(items)), min(self.workers, len(items)) or 1)
        submit: Callable[..., Future[list[Result]]] = self._executor.submit
        return [submit(_run_chunk, epoch, [items[i] for i in chunk]) for chunk in chunks]

    def broken(self) -> None:
        """Drop a pool whose worker died; the next submit starts a fresh one."""
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            with contextlib.suppress(Exception):
                self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
