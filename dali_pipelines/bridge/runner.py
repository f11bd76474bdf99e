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
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from ..backends.dali.graph import GraphOptions
from ..backends.dali.runner import DaliRunner
from ..data.probe import probe_header
from ..data.source import SampleSource
from ..errors import PythonStageError
from ..ops._dali import torch_dtype
from ..ops.base import Args, Size
from ..plan import Plan, Step
from .placement import Placement
from .stage import StageFailure, cause_of, stage_error
from .workers import Item, Result, StagePool, WorkerProgram

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class _Ragged(list):  # type: ignore[type-arg]
    """Per-sample HWC arrays with the two tensor features the DALI runner's batch code uses."""

    device = torch.device("cpu")

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, torch.Tensor) and key.dtype == torch.bool:
            return _Ragged(x for x, keep in zip(self, key.tolist()) if keep)
        return super().__getitem__(key)


class _SegmentRunner(DaliRunner):
    """The DALI segment: same source, recovery and errors, per-sample HWC arrays out."""

    def _images(self, images: Any) -> Any:
        if hasattr(images, "as_cpu"):
            images = images.as_cpu()
        return _Ragged(np.array(images[i], copy=True) for i in range(len(images)))


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
        program = WorkerProgram(plan.steps, placement.split, placement.tail, options.seed)
        # Workers first: they fork before this loader's DALI threads exist.
        self.pool = StagePool(program, workers)
        self._sizes = _SizeRecorder(dataset)
        segment_options = replace(options, raw_output=True, output_dtype=None, output_ndim=None)
        self.segment = _SegmentRunner(
            self._sizes,  # type: ignore[arg-type]
            sub_plan(plan, placement.split),
            segment_options,
            None,
            **runner_kwargs,
        )

    def epoch(
        self, epoch: int, batches: Sequence[np.ndarray], start_batch: int = 0
    ) -> Iterator[Batch]:
        pending: deque[tuple[list[Future[list[Result]]], torch.Tensor, torch.Tensor]] = deque()
        try:
            for images, labels, indices in self.segment.epoch(epoch, batches, start_batch):
                items: list[Item] = []
                for image, index in zip(images, indices.tolist()):
                    items.append((index, image, self._sizes.sizes.pop(index, image.shape[:2])))
                try:
                    futures = self.pool.submit(epoch, items)
                except BrokenProcessPool as exc:  # a worker died since the last batch
                    raise self._died(indices) from exc
                pending.append((futures, labels, indices))
                if len(pending) > self.depth:
                    yield self._finish(*pending.popleft())
            while pending:
                yield self._finish(*pending.popleft())
        finally:
            for futures, _, _ in pending:  # a break or an error: drop the work in flight
                for future in futures:
                    future.cancel()

    def _finish(
        self, futures: list[Future[list[Result]]], labels: torch.Tensor, indices: torch.Tensor
    ) -> Batch:
        results: list[Result] = []
        for future in futures:
            try:
                results += future.result()
            except BrokenProcessPool as exc:
                raise self._died(indices) from exc
        for result in results:
            if result[0] == "error":
                _, op, index, cause, tb = result
                failure = StageFailure(op, index, cause, remote_tb=tb)
                path = self.dataset.path(index) if index is not None else None
                raise stage_error(failure, path) from cause_of(failure)
        images = [r[2] for r in results]
        tail_args = [r[3] for r in results]
        if not images:  # every sample skipped by the DALI segment (on_error="skip")
            return self._empty(), labels, indices
        batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
        if self.output_device is not None:
            batch = batch.to(self.output_device, non_blocking=True)
        tail = self.plan.steps[self.placement.tail :]
        for position, step in enumerate(tail):
            batch = apply_batched(step, batch, [args[position] for args in tail_args])
        return self._output(batch), labels, indices

    def _died(self, indices: torch.Tensor) -> PythonStageError:
        self.pool.broken()
        return PythonStageError(
            "a Python stage worker process died (killed, or crashed in native code) with "
            f"samples {indices.tolist()} in flight; the next epoch starts a fresh pool"
        )

    def _output(self, batch: torch.Tensor) -> torch.Tensor:
        """The spec's output conversion, as the reference backend does it."""
        from torchvision.transforms.v2 import functional as F

        out = self.plan.spec.output
        if out.dtype != self.plan.final.dtype:
            batch = F.to_dtype(batch, torch_dtype(out.dtype), scale=True)
        if out.layout == "HWC":
            return batch.permute(0, 2, 3, 1).contiguous()
        if out.memory_format == "channels_last":
            return batch.contiguous(memory_format=torch.channels_last)
        return batch.contiguous()

    def _empty(self) -> torch.Tensor:
        out = self.plan.output
        shape = (0, out.channels, out.height or 0, out.width or 0)
        return self._output(torch.empty(shape, dtype=torch_dtype(self.plan.final.dtype)))

    def close(self) -> None:
        self.segment.close()
        self.pool.close()


def apply_batched(step: Step, batch: torch.Tensor, args: list[Args]) -> torch.Tensor:
    """One tail op on a whole NCHW batch, each sample with its own drawn parameters."""
    name = step.op.name
    if name in ("horizontal_flip", "vertical_flip"):
        flags = torch.tensor([bool(a["flip"]) for a in args], device=batch.device)
        flipped = batch.flip(-1 if name == "horizontal_flip" else -2)
        return torch.where(flags[:, None, None, None], flipped, batch)
    # Deterministic for same-size inputs: the first sample's draw is every sample's.
    return step.op.apply_torch(step.params, batch, args[0] if args else {})  # type: ignore[no-any-return]
