"""The runner of a split plan: DALI segment -> Python stages in workers -> torch batch tail.

``epoch()`` has the DALI runner's interface. The DALI segment (decode and the ops before the
first worker stage) runs in DALI's threads with its own prefetching; each batch it yields is
cut into one chunk per worker; up to ``depth`` batches are in the workers at once, so DALI,
the workers and the training loop overlap. Results come back in sample order; the tail
(normalize, dtype, flips, fixed crops) runs batched on the loader's device.

A failure in a worker comes back as data (op, sample, exception, traceback text) and is raised
as :class:`~dali_pipelines.errors.PythonStageError` naming the file; a worker that dies breaks
the pool, which the executor reports as soon as the process is gone (no hang).
"""

from __future__ import annotations

import contextlib
import gc
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from ...data.probe import probe_header
from ...data.source import SampleSource
from ...errors import PythonStageError
from ...ops.base import Args, Size
from ...ops.python.stage import StageFailure, cause_of, stage_error
from ...plan import Plan
from ...plan.placement import Placement
from ..dali.graph import GraphOptions
from ..dali.runner import DaliRunner
from .tail import Tail
from .workers import Result, StagePool, WorkerProgram

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class _Ragged(list[Any]):
    """Per-sample HWC tensors with the two tensor features the DALI runner's batch code uses."""

    device = torch.device("cpu")

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, torch.Tensor) and key.dtype == torch.bool:
            return _Ragged(x for x, keep in zip(self, key.tolist()) if keep)
        return super().__getitem__(key)


class InlineRunner(DaliRunner):
    """The DALI runner for graphs holding ``python_function``: it frees dropped pipelines now.

    A ``python_function`` op and its pipeline reference each other, so a dropped pipeline is
    cyclic garbage; if a forked child (a torch DataLoader worker, say) collected it, its
    destructor would wait forever for threads the child does not have. Collecting right away,
    in this process, is cheap next to building a pipeline.
    """

    def _discard(self) -> None:
        super()._discard()
        gc.collect()

    def close(self) -> None:
        super().close()
        gc.collect()


class _SegmentRunner(InlineRunner):
    """The DALI segment: same source, recovery and errors; an NHWC tensor out when the sizes
    agree, per-sample HWC tensors otherwise, copied straight into shared memory when workers
    will read them (one copy instead of two)."""

    share = False

    def _images(self, images: Any) -> Any:
        if hasattr(images, "as_cpu"):
            images = images.as_cpu()
        if images.is_dense_tensor():
            return _copy(np.asarray(images.as_tensor()), self.share)
        return _Ragged(_copy(np.asarray(images[i]), self.share) for i in range(len(images)))


def _copy(array: np.ndarray, share: bool) -> torch.Tensor:
    out = torch.empty(array.shape, dtype=torch.from_numpy(array[:0]).dtype)
    if share:
        out.share_memory_()  # allocated in shared memory: the copy below is the only one
    out.numpy()[...] = array
    return out


class _SizeRecorder:
    """The dataset, remembering each sample's decoded size (the workers replay draws from it)."""

    def __init__(self, dataset: SampleSource):
        self.dataset = dataset
        self.sizes: dict[int, Size] = {}

    def __len__(self) -> int:
        return len(self.dataset)

    def read_bytes(self, index: int) -> np.ndarray:
        data = self.dataset.read_bytes(index)
        # An unreadable header is the DALI source's to report (it names the file).
        with contextlib.suppress(Exception):
            self.sizes[index] = probe_header(data).size
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dataset, name)


def sub_plan(plan: Plan, end: int) -> Plan:
    steps = plan.steps[:end]
    final = steps[-1].state_out if steps else plan.decoded
    return replace(plan, steps=steps, final=final, output=final)


class HybridRunner:
    """``epoch()`` yields (images, labels, indices) like the DALI runner, for a split plan."""

    def __init__(
        self,
        dataset: SampleSource,
        plan: Plan,
        placement: Placement,
        options: GraphOptions,
        output_device: torch.device | None = None,
        *,
        workers: int,
        depth: int = 2,
        **runner_kwargs: Any,
    ):
        self.dataset = dataset
        self.plan = plan
        self.placement = placement
        self.output_device = output_device
        self.depth = max(1, depth)
        program = WorkerProgram(plan, placement.split, placement.tail, options.seed)
        # Workers first: they fork before this loader's DALI threads exist.
        self.pool = StagePool(program, workers)
        self._sizes = _SizeRecorder(dataset)
        self.tail = Tail(plan, placement.tail, output_device)
        #: On CPU the tail runs in the workers, into a shared output batch; on a GPU, batched
        #: on the device after the workers.
        self.tail_in_workers = output_device is None or output_device.type == "cpu"
        self.workers = workers
        segment_options = replace(options, raw_output=True, output_dtype=None, output_ndim=None)
        self.segment = _SegmentRunner(
            self._sizes,
            sub_plan(plan, placement.split),
            segment_options,
            None,
            **runner_kwargs,
        )
        self.segment.share = workers > 0

    def epoch(
        self, epoch: int, batches: Sequence[np.ndarray], start_batch: int = 0
    ) -> Iterator[Batch]:
        pending: deque[tuple[list[Future[Result]], Any, torch.Tensor, torch.Tensor]] = deque()
        try:
            for images, labels, indices in self.segment.epoch(epoch, batches, start_batch):
                ids = indices.tolist()
                decoded = [
                    self._sizes.sizes.pop(i, tuple(images[k].shape[:2])) for k, i in enumerate(ids)
                ]
                out = None
                if self.tail_in_workers:
                    out = self.tail.allocate(len(ids), None, share=self.workers > 0)
                try:
                    futures = self.pool.submit(epoch, ids, images, decoded, out)
                except BrokenProcessPool as exc:  # a worker died since the last batch
                    raise self._died(indices) from exc
                pending.append((futures, out, labels, indices))
                if len(pending) > self.depth:
                    yield self._finish(*pending.popleft())
            while pending:
                yield self._finish(*pending.popleft())
        finally:
            for futures, *_ in pending:  # a break or an error: drop the work in flight
                for future in futures:
                    future.cancel()

    def _finish(
        self,
        futures: list[Future[Result]],
        out: torch.Tensor | None,
        labels: torch.Tensor,
        indices: torch.Tensor,
    ) -> Batch:
        parts: list[Any] = []
        tail_args: list[list[Args]] = []
        for future in futures:
            try:
                result = future.result()
            except BrokenProcessPool as exc:
                raise self._died(indices) from exc
            if result[0] == "error":
                _, op, index, cause, tb = result
                failure = StageFailure(op, index, cause, remote_tb=tb)
                path = self.dataset.path(index) if index is not None else None
                raise stage_error(failure, path) from cause_of(failure)
            if result[1] is not None:
                parts += list(result[1])
                tail_args += result[2]
        if len(indices) == 0:  # every sample skipped by the DALI segment (on_error="skip")
            return self.tail.empty(), labels, indices
        if out is not None:
            return out, labels, indices
        batch = self.tail.allocate(len(parts), self.output_device, share=False)
        return self.tail.run(parts, tail_args, batch), labels, indices

    def _died(self, indices: torch.Tensor) -> PythonStageError:
        self.pool.broken()
        return PythonStageError(
            "a Python stage worker process died (killed, or crashed in native code) with "
            f"samples {indices.tolist()} in flight; the next epoch starts a fresh pool"
        )

    def close(self) -> None:
        self.segment.close()
        self.pool.close()
