"""The runner of a split plan: DALI segment -> Python stages in workers -> torch batch tail.

``epoch()`` has the DALI runner's interface. The DALI segment (decode and the ops before the
first worker stage) runs in DALI's threads with its own prefetching; each batch it yields is
cut into one chunk per worker; up to ``depth`` batches are in the workers at once, so DALI,
the workers and the training loop overlap (the profile samples how many are in flight: the
``python_workers`` queue; each chunk's time comes back as ``python``). Results come back in
sample order; the tail
(normalize, dtype, flips, fixed crops) runs batched on the loader's device.

A failure in a worker comes back as data (op, sample, exception, traceback text) and is raised
as :class:`~dali_pipelines.errors.PythonStageError` naming the file; a worker that dies breaks
the pool, which the executor reports as soon as the process is gone (no hang). With a
``timeout`` (torch's: seconds to wait for a batch, 0 for none) a stage that never returns, or a
stopped worker, ends in a :class:`~dali_pipelines.errors.PythonStageError` naming the samples
in flight; the workers are killed and the next run starts a fresh pool.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from ...errors import PythonStageError
from ...fork_guard import fork_guard
from ...ops.base import Args, Size
from ...ops.python.op import PythonParams
from ...ops.python.stage import StageFailure
from ...plan import Plan
from ...plan.placement import Placement
from ..assemble import Column, RawBatch, keep_rows
from ..dali.executor import DaliExecutor
from ..dali.graph import GraphOptions
from ..feed import BadSample, Prepared, Recorder, SampleFeed
from ..runner import BatchFailure, Run
from .tail import Tail
from .workers import Chunk, StagePool, WorkerProgram

#: Samples named with their files in a timeout message; the rest are counted.
_NAMED = 8


class _SizeRecordingFeed(SampleFeed):
    """The feed, remembering each sample's decoded size (the workers replay draws from it)."""

    def __init__(self, feed: SampleFeed, plan: Plan):
        super().__init__(feed.bound, plan, feed.seed, feed.recovery, feed.max_pixels, feed.profile)
        self.sizes: dict[int, Size] = {}

    def prepare(self, index: int, epoch: int, into: Recorder | None = None) -> Prepared | BadSample:
        sample = super().prepare(index, epoch, into)
        if isinstance(sample, Prepared):
            self.sizes[index] = sample.sizes[0]
        return sample


def _shared_copy(column: Column, share: bool) -> Any:
    """The segment's images as CPU tensors the workers can read: one copy, straight into
    shared memory when workers run (DALI's buffers are not shareable across processes)."""
    samples = [column] if isinstance(column, torch.Tensor) else column
    out = []
    for x in samples:
        x = x.cpu()
        copy = torch.empty(x.shape, dtype=x.dtype)
        if share:
            copy.share_memory_()
        copy.copy_(x)
        out.append(copy)
    return out[0] if isinstance(column, torch.Tensor) else out


def sub_plan(plan: Plan, end: int) -> Plan:
    steps = plan.steps[:end]
    final = steps[-1].state_out if steps else plan.decoded
    return replace(plan, steps=steps, final=final, output=final)


class HybridExecutor:
    """DALI segment -> worker stages -> tail; ``run()`` yields :class:`RawBatch` es."""

    def __init__(
        self,
        feed: SampleFeed,
        plan: Plan,
        placement: Placement,
        options: GraphOptions,
        output_device: torch.device | None,
        workers: int,
        depth: int = 2,
        timeout: float = 0.0,
    ):
        self.plan = plan
        self.output_device = output_device
        self.depth = max(1, depth)
        #: Seconds to wait for a batch from the workers (0: no limit; no effect without them).
        self.timeout = timeout
        program = WorkerProgram(plan, placement.split, placement.tail, feed.seed)
        # The workers' torch ops use torchvision's functionals: imported once here, inherited
        # by every fork (each worker importing them cost ~2.5 s on 2 cores).
        import torchvision.transforms.v2.functional  # noqa: F401

        # Workers first: they fork before this loader's DALI threads exist.
        with fork_guard():
            self.pool = StagePool(program, workers)
        self.tail = Tail(plan, placement.tail, output_device)
        #: On CPU the tail runs in the workers, into a shared output batch; on a GPU, batched
        #: on the device after the workers.
        self.tail_in_workers = output_device is None or output_device.type == "cpu"
        self.workers = workers
        segment = sub_plan(plan, placement.split)
        self.feed = _SizeRecordingFeed(feed, segment)
        segment_options = replace(options, raw_output=True)
        self.segment = DaliExecutor(self.feed, segment, segment_options)

    def run(
        self, epoch: int, batches: Sequence[np.ndarray], following: Run | None = None
    ) -> Iterator[RawBatch]:
        # The segment does not flow into the next run: workers hold batches of this one.
        pending: deque[tuple[list[Chunk], Any, RawBatch]] = deque()
        try:
            try:
                for raw in self.segment.run(epoch, batches):
                    pending.append(self._submit(epoch, raw))
                    self.feed.profile.queue("python_workers", len(pending))
                    if len(pending) > self.depth:
                        yield self._finish(*pending.popleft())
            except BatchFailure:
                # The failure counts the segment's batches: deliver those in flight first, so
                # the runner re-runs from the right batch.
                while pending:
                    yield self._finish(*pending.popleft())
                raise
            while pending:
                yield self._finish(*pending.popleft())
        finally:
            for chunks, *_ in pending:  # a break or an error: drop the work in flight
                for future, _ in chunks:
                    future.cancel()

    def _submit(self, epoch: int, raw: RawBatch) -> tuple[list[Chunk], Any, RawBatch]:
        keep = raw.indices >= 0  # the placeholder of an all-skipped batch never reaches workers
        if not bool(keep.all()):
            raw = RawBatch(raw.indices[keep], [keep_rows(c, keep) for c in raw.columns], raw.bad)
        if len(raw.indices) == 0:
            return [], None, raw
        ids = raw.indices.tolist()
        images = _shared_copy(raw.columns[0], self.workers > 0)
        decoded = [self.feed.sizes.pop(i, tuple(images[k].shape[:2])) for k, i in enumerate(ids)]
        out = None
        if self.tail_in_workers:
            out = self.tail.allocate(len(ids), None, share=self.workers > 0)
        try:
            futures = self.pool.submit(epoch, ids, images, decoded, out)
        except BrokenProcessPool as exc:  # a worker died since the last batch
            raise self._died(raw.indices) from exc
        return futures, out, raw

    def _finish(self, chunks: list[Chunk], out: Any, raw: RawBatch) -> RawBatch:
        parts: list[Any] = []
        tail_args: list[list[Args]] = []
        deadline = time.monotonic() + self.timeout if self.timeout > 0 else None
        for future, ids in chunks:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                result = future.result(timeout=wait)
            except BrokenProcessPool as exc:
                raise self._died(raw.indices) from exc
            except concurrent.futures.TimeoutError:
                raise self._timed_out(ids) from None
            if result[0] == "error":
                raise StageFailure.from_record(result[1:])
            self.feed.profile.merge(result[3])
            if result[1] is not None:
                parts += list(result[1])
                tail_args += result[2]
        if out is None and parts:
            batch = self.tail.allocate(len(parts), self.output_device, share=False)
            out = self.tail.run(parts, tail_args, batch)
        images: Column = self._emitted(out) if out is not None else []
        return RawBatch(raw.indices, [images, *raw.columns[1:]], raw.bad)

    def _emitted(self, out: torch.Tensor) -> torch.Tensor:
        """The tail's batch in the assembler's convention (channels_last leaves as NHWC)."""
        spec = self.plan.spec.output
        if spec.layout == "CHW" and spec.memory_format == "channels_last":
            return out.permute(0, 2, 3, 1)
        return out

    def _died(self, indices: torch.Tensor) -> PythonStageError:
        self.pool.broken()
        return PythonStageError(
            "a Python stage worker process died (killed, or crashed in native code) with "
            f"samples {indices.tolist()} in flight; the next epoch starts a fresh pool"
        )

    def _timed_out(self, ids: list[int]) -> PythonStageError:
        """Kill the workers (one is stuck or stopped) and name the samples it held."""
        self.pool.terminate()
        stages = [s.params.name for s in self.plan.steps if isinstance(s.params, PythonParams)]
        named = [f"{i} ({self.feed.bound.path(i)})" for i in ids[:_NAMED]]
        more = f" and {len(ids) - _NAMED} more" if len(ids) > _NAMED else ""
        return PythonStageError(
            f"python stage {' / '.join(repr(s) for s in stages)}: no result within "
            f"timeout={self.timeout:g} s for samples {', '.join(named)}{more} (a stage that "
            "never returns, or a stopped worker): the workers were stopped and the next epoch "
            "starts a fresh pool",
            op=stages[0] if len(stages) == 1 else None,
            index=ids[0] if len(ids) == 1 else None,
            path=self.feed.bound.path(ids[0]) if len(ids) == 1 else None,
        )

    def decode_failure(self, data: np.ndarray) -> str | None:
        return self.segment.decode_failure(data)

    def close(self) -> None:
        self.segment.close()
        self.pool.close()
