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
import functools
import itertools
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.multiprocessing  # registers the shared-memory pickler for tensors

from ...fork_guard import fork_guard
from ...ops.base import Args, Size
from ...ops.python.op import PythonParams, stage_call
from ...ops.python.stage import StageCall, StageFailure, failure_record
from ...plan import Plan, Step
from ...plan.draws import replay
from ..profile import Tally
from .tail import Tail

#: A chunk's images after the DALI segment: one (n, H, W, C) tensor, or one HWC tensor each.
Images = Any
#: ("ok", images, tail args per sample, the chunk's ``Tally.sent()``) or
#: ("error", op, index, exception, traceback text).
Result = tuple[Any, ...]
#: One task: its future and the sample indices it runs.
Chunk = tuple[Future[Result], list[int]]


def as_hwc(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    return x.permute(1, 2, 0).contiguous().numpy()


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

    plan: Plan
    split: int
    tail: int
    seed: int
    _calls: dict[int, StageCall] = field(default_factory=dict, repr=False)

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.plan.steps

    @functools.cached_property
    def tail_runner(self) -> Tail:
        return Tail(self.plan, self.tail, None)

    def _call(self, step: Step) -> StageCall:
        # Built on first use in each process: a registered class is instantiated there.
        if step.index not in self._calls:
            assert isinstance(step.params, PythonParams)
            self._calls[step.index] = stage_call(step.params, step.state_in)
        return self._calls[step.index]

    def run_sample(
        self, epoch: int, index: int, image: np.ndarray, decoded: Size
    ) -> tuple[np.ndarray, list[Args]]:
        # The DALI segment drew the first steps already: replay them to reach the same stream.
        rng, size = replay(self.plan, decoded, self.seed, epoch, index, self.split)
        x: Any = image
        for step in self.steps[self.split : self.tail]:
            args, _ = step.draw(_size(x), rng)
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
            args, size = step.draw(size, rng)
            tail_args.append(args)
        return np.ascontiguousarray(as_hwc(x)), tail_args

    def run_items(
        self,
        epoch: int,
        indices: Sequence[int],
        images: Images,
        decoded: Sequence[Size],
        out: torch.Tensor | None = None,
    ) -> Result:
        """A chunk of samples -> ("ok", images, tail args, figures) or ("error", op, index,
        exc, tb). ``figures``: the chunk's busy time as the profile's ``python`` stage (the
        stages and the ops after them, the tail included when it runs here), and in a worker
        process its CPU seconds.

        With ``out`` (this chunk's rows of the output batch) the tail runs here too and is
        written there: ("ok", None, None, figures).
        """
        start, cpu = time.perf_counter(), time.process_time()
        result = self._run_items(epoch, indices, images, decoded, out)
        if result[0] != "ok":
            return result
        tally = Tally()
        tally.record("python", start, time.perf_counter(), count=len(indices))
        if multiprocessing.parent_process() is not None:  # in-process: the loader's own CPU
            tally.cpu_s = time.process_time() - cpu
        return (*result, tally.sent())

    def _run_items(
        self,
        epoch: int,
        indices: Sequence[int],
        images: Images,
        decoded: Sequence[Size],
        out: torch.Tensor | None,
    ) -> Result:
        outs: list[np.ndarray] = []
        tails: list[list[Args]] = []
        for k, index in enumerate(indices):
            try:
                image, tail_args = self.run_sample(epoch, index, images[k].numpy(), decoded[k])
            except StageFailure as failure:
                return ("error", *failure_record(failure))
            outs.append(image)
            tails.append(tail_args)
        if out is not None:
            try:
                self.tail_runner.run([torch.from_numpy(o) for o in outs], tails, out)
            except Exception as exc:
                tail_failure = StageFailure("the ops after the Python stage", None, exc)
                return ("error", *failure_record(tail_failure))
            return ("ok", None, None)
        if outs and len({o.shape for o in outs}) == 1:
            # One tensor for the chunk, allocated in shared memory: its pickling copies nothing.
            packed = torch.empty((len(outs), *outs[0].shape), dtype=torch.from_numpy(outs[0]).dtype)
            if multiprocessing.parent_process() is not None:
                packed.share_memory_()
            for k, image in enumerate(outs):
                packed.numpy()[k] = image
            return ("ok", packed, tails)
        return ("ok", [torch.from_numpy(o) for o in outs], tails)


_PROGRAM: WorkerProgram | None = None


def _init_worker(program: WorkerProgram) -> None:
    import torch

    global _PROGRAM
    _PROGRAM = program
    torch.set_num_threads(1)  # one process per core; intra-op threads would oversubscribe


def _run_chunk(
    epoch: int,
    indices: Sequence[int],
    images: Images,
    decoded: Sequence[Size],
    out: torch.Tensor | None,
) -> Result:
    assert _PROGRAM is not None
    return _PROGRAM.run_items(epoch, indices, images, decoded, out)


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
        with fork_guard():  # a child never collects what the parent left behind
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker,
                initargs=(self.program,),
            )
            # The first submit forks every worker: do it now, not once DALI's threads run.
            for future in [self._executor.submit(_ready) for _ in range(self.workers)]:
                future.result()

    def submit(
        self,
        epoch: int,
        indices: Sequence[int],
        images: Images,
        decoded: Sequence[Size],
        out: torch.Tensor | None = None,
    ) -> list[Chunk]:
        """One task per worker: contiguous chunks, so results come back in sample order.

        Images travel as torch tensors: torch's pickler passes a shared-memory block's file
        descriptor (the DALI segment wrote them there), so nothing is pickled through a pipe.
        ``out``: the output batch (shared); each chunk writes its rows.
        """
        if self._executor is None and self.workers > 0:
            self._start()  # after a crash: a fresh pool for the next batch
        if self._executor is None:
            done: Future[Result] = Future()
            done.set_result(self.program.run_items(epoch, indices, images, decoded, out))
            return [(done, list(indices))]
        if isinstance(images, torch.Tensor):
            images.share_memory_()  # a no-op when the DALI segment allocated it there
        else:
            images = [image.share_memory_() for image in images]
        bounds = np.linspace(0, len(indices), min(self.workers, len(indices)) + 1).astype(int)
        submit: Callable[..., Future[Result]] = self._executor.submit
        return [
            (
                submit(
                    _run_chunk,
                    epoch,
                    indices[a:b],
                    images[a:b],
                    decoded[a:b],
                    None if out is None else out[a:b],
                ),
                list(indices[a:b]),
            )
            for a, b in itertools.pairwise(bounds)
            if b > a
        ]

    def broken(self) -> None:
        """Drop a pool whose worker died; the next submit starts a fresh one."""
        self.close()

    def terminate(self) -> None:
        """Kill every worker (one hung in a stage, or stopped) and drop the pool; the next
        submit starts a fresh one."""
        executor = self._executor
        if executor is None:
            return
        processes = dict(getattr(executor, "_processes", None) or {})
        for process in processes.values():  # SIGKILL ends a stopped (SIGSTOP) process too
            with contextlib.suppress(Exception):
                process.kill()
        self.close()
        for process in processes.values():
            with contextlib.suppress(Exception):
                process.join(timeout=5)

    def close(self) -> None:
        if self._executor is not None:
            with contextlib.suppress(Exception):
                self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
