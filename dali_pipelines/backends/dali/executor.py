"""The DALI executor: one pipeline fed by the batch source, outputs handed over without a copy.

Our own loop over ``pipe.run()`` rather than DALIGenericIterator: the source decides where a run
ends (StopIteration), a partial last batch is natural, and a failure can be mapped back to the
samples of its iteration because the source remembers what each iteration carried.

Outputs reach torch through DLPack, as DALIGenericIterator does with the dynamic executor: the
torch tensor owns DALI's buffer, which DALI does not reuse while it lives, so a batch stays
valid as long as the caller keeps it, and no copy is made. Outputs whose samples differ in
shape come as per-sample tensors. After a failure a DALI pipeline is unusable: the executor
drops it (collecting it at once when it holds ``python_function``, see :mod:`..fork`) and
builds a fresh one on the next run.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ...errors import DaliPipelinesError
from ...fork_guard import release_cycles
from ...ops.python.stage import recording_into, take_parked
from ...plan import Plan
from ..assemble import Column, RawBatch
from ..feed import BadSample, SampleFeed
from ..runner import BatchFailure, Run
from .graph import GraphOptions, build_pipeline, used_args
from .probe_decode import DecodeProbe, dali_reason
from .source import BatchSource


def to_torch(tensor_list: Any) -> Column:
    """One DALI output batch as torch: one dense tensor, or one tensor per sample."""
    if tensor_list.is_dense_tensor():
        return torch.from_dlpack(tensor_list.as_tensor())
    return [torch.from_dlpack(tensor_list[i]) for i in range(len(tensor_list))]


class DaliExecutor:
    """Runs the plan's DALI graph; ``run()`` yields :class:`RawBatch` es."""

    def __init__(self, feed: SampleFeed, plan: Plan, options: GraphOptions):
        self.feed = feed
        self.plan = plan
        self.options = options
        self.source = BatchSource(
            feed,
            plan,
            depth=options.prefetch_queue_depth,
            used=functools.partial(used_args, plan, options),
        )
        self._probe = DecodeProbe(plan.spec.decode.color, plan.spec.audio)
        self._pipe: Any = None
        self._dirty = False  # a run was started and not drained
        self._next = 0  # the DALI iteration whose outputs come next
        #: The run DALI is already working on (announced as ``following``), if any.
        self._expected: Run | None = None
        #: A graph holding python_function sits in a reference cycle: collect it when dropped.
        self._cyclic = any(s.op.needs_sample_index for s in plan.steps)

    def _pipeline(self) -> Any:
        if self._pipe is None:
            with recording_into(self.feed.profile):  # inline Python stages time their runs
                self._pipe = build_pipeline(self.plan, self.source, self.options)
            self._pipe.build()
        return self._pipe

    def run(
        self,
        epoch: int,
        batches: Sequence[np.ndarray],
        following: Run | None = None,
    ) -> Iterator[RawBatch]:
        """The batches of one run; with ``following`` (the run the loader expects next) the
        pipeline flows on into it, and a next call asking for exactly that run continues
        where DALI already is instead of draining and refilling the pipeline."""
        pipe = self._continue_or_start(epoch, batches)
        if following is not None:
            self.source.extend(*following)
        self._dirty = True
        done, restarted = 0, -1
        try:
            while following is None or done < len(batches):
                try:
                    outputs = pipe.run()
                except StopIteration:
                    self._dirty = False
                    pipe.reset()
                    if done >= len(batches):
                        return
                    restarted = self._restart(epoch, batches, done, restarted, following)
                    continue
                except DaliPipelinesError:  # e.g. DALI's own output checks
                    del pipe
                    self._discard()
                    raise
                except RuntimeError as exc:
                    failure = self._failure(exc, done)
                    # Nothing may keep the dropped pipeline alive (DALI's frames in the
                    # traceback hold it): collected in a forked child, it would hang.
                    exc.__traceback__ = None
                    del pipe
                    self._discard()
                    raise failure from None
                except BaseException:
                    del pipe
                    self._discard()
                    raise
                bad = self.source.release(self._next)
                self._next += 1
                yield self._raw(outputs, bad)
                done += 1
            self._expected = following  # DALI is already working on it
        finally:
            if self._expected is None:
                # Ended, failed or abandoned: no read-ahead may still touch the dataset when
                # the next run starts (the runner starts a source's own read-ahead before it).
                self.source.stop()

    def _restart(
        self,
        epoch: int,
        batches: Sequence[np.ndarray],
        done: int,
        restarted: int,
        following: Run | None,
    ) -> int:
        """DALI saw the stream end before the run's last batch: its prefetch read past the
        runs announced so far (a following run shorter than the prefetch queue) and met the
        schedule's end before the run that continues it extended the schedule. Start again at
        the first batch not delivered; a second end there without progress is an error, never
        a short epoch."""
        if restarted == done:
            raise DaliPipelinesError(
                f"DALI ended epoch {epoch}'s run after {done} of {len(batches)} batches twice: "
                "no batch is dropped silently (please report this)"
            )
        self.source.start(epoch, batches[done:])
        if following is not None:
            self.source.extend(*following)
        self._next, self._dirty = 0, True
        return done

    def _continue_or_start(self, epoch: int, batches: Sequence[np.ndarray]) -> Any:
        expected, self._expected = self._expected, None
        if self._pipe is not None and expected is not None and _same(expected, (epoch, batches)):
            return self._pipe
        self._finish_run()
        pipe = self._pipeline()
        self.source.start(epoch, batches)
        self._next = 0
        return pipe

    def _failure(self, exc: RuntimeError, done: int) -> Exception:
        """A Python stage's failure (parked by its ``python_function``) or a decode failure."""
        stage = take_parked(exc)
        if stage is not None:
            return stage
        issued = self.source.issued.get(self._next)
        candidates = [] if issued is None else [int(i) for i in issued]
        return BatchFailure(done, candidates, dali_reason(exc))

    def _raw(self, outputs: Any, bad: list[BadSample]) -> RawBatch:
        *data, indices = outputs
        ids = torch.from_dlpack(indices.as_tensor()).reshape(-1)
        return RawBatch(ids, [self._torch(out) for out in data], bad)

    def _torch(self, tensor_list: Any) -> Column:
        if self.options.device == "gpu" and type(tensor_list).__name__ == "TensorListGPU":
            # On the GPU: DLPack within the pipeline's device.
            with torch.cuda.device(self.options.device_id or 0):
                return to_torch(tensor_list)
        return to_torch(tensor_list)

    def decode_failure(self, data: np.ndarray) -> str | None:
        return self._probe.failure(data)

    def _finish_run(self) -> None:
        """Drain a run the caller broke out of, so the next one starts clean."""
        self._expected = None
        if not self._dirty or self._pipe is None:
            return
        self.source.stop()
        try:
            while True:
                self._pipe.run()
        except StopIteration:
            self._pipe.reset()
            self._dirty = False
        except Exception:  # the abandoned batches failing does not matter: start afresh
            self._discard()

    def _discard(self) -> None:
        self._pipe = None
        self._dirty = False
        self._expected = None
        if self._cyclic:
            release_cycles()

    def close(self) -> None:
        self._discard()
        self.source.close()
        self._probe.close()


def _same(expected: Run, actual: Run) -> bool:
    (epoch, batches), (other_epoch, others) = expected, actual
    return (
        epoch == other_epoch
        and len(batches) == len(others)
        and all(np.array_equal(a, b) for a, b in zip(batches, others))
    )
