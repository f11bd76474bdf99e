"""Run a compiled DALI pipeline epoch by epoch and hand out torch tensors.

Our own loop over ``pipe.run()`` rather than DALIGenericIterator: the source decides where an
epoch ends (StopIteration), a partial last batch is natural, and a failure can be mapped back to
the sample's file because the source remembers which indices each iteration carried. After a
decode failure a DALI pipeline is unusable; the runner finds the culprit with a one-sample
decode, records it (``on_error``), rebuilds the pipeline and re-runs the epoch from the failed
batch: order and augmentations depend only on (seed, epoch, index), so nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ...data.source import SampleSource
from ...errors import DaliPipelinesError, SampleDecodeError
from ...plan import Plan
from ..recovery import Recovery
from .graph import GraphOptions, build_pipeline
from .probe_decode import DecodeProbe, dali_reason
from .source import BatchSource

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def _to_torch(tensor_list: Any, device: torch.device | None) -> torch.Tensor:
    """Copy one DALI output batch into a fresh torch tensor (DALI reuses its buffers)."""
    if device is not None and device.type == "cuda":
        from nvidia.dali.plugin.pytorch import feed_ndarray

        dense = tensor_list.as_tensor()
        out = torch.empty(dense.shape(), dtype=_torch_dtype(dense), device=device)
        feed_ndarray(tensor_list, out, cuda_stream=torch.cuda.current_stream(device))
        return out
    return torch.from_numpy(np.array(tensor_list.as_tensor(), copy=True))


def _torch_dtype(dense: Any) -> torch.dtype:
    import nvidia.dali.types as types

    return {
        types.UINT8: torch.uint8,
        types.FLOAT: torch.float32,
        types.FLOAT16: torch.float16,
        types.INT64: torch.int64,
        types.INT32: torch.int32,
    }[dense.dtype]


class DaliRunner:
    """Owns one pipeline and its source; ``epoch()`` yields (images, labels, indices) batches."""

    def __init__(
        self,
        dataset: SampleSource,
        plan: Plan,
        options: GraphOptions,
        output_device: torch.device | None = None,
        recovery: Recovery | None = None,
        max_pixels: int | None = None,
    ):
        self.dataset = dataset
        self.plan = plan
        self.options = options
        self.output_device = output_device
        self.recovery = recovery if recovery is not None else Recovery(color=plan.spec.decode.color)
        self.source = BatchSource(dataset, plan, options.seed, self.recovery, max_pixels)
        self._probe = DecodeProbe(plan.spec.decode.color)
        self._pipe: Any = None
        self._dirty = False  # an epoch was started and not drained

    def _pipeline(self) -> Any:
        if self._pipe is None:
            self._pipe = build_pipeline(self.plan, self.source, self.options)
            self._pipe.build()
            self._dirty = False
        return self._pipe

    def epoch(
        self, epoch: int, batches: Sequence[np.ndarray], start_batch: int = 0
    ) -> Iterator[Batch]:
        self._finish_epoch()
        position = start_batch
        while True:  # one pass per pipeline; a recovered failure rebuilds and goes on
            pipe = self._pipeline()
            self.source.start_epoch(epoch, batches, position)
            self._dirty = True
            iteration = 0
            while True:
                try:
                    outputs = pipe.run()
                except StopIteration:
                    self._dirty = False
                    pipe.reset()
                    return
                except DaliPipelinesError:
                    self._discard()
                    raise
                except RuntimeError as exc:
                    from ...bridge.stage import stage_error_from

                    stage = stage_error_from(exc, self.dataset.path)
                    if stage is not None:  # a Python stage raised: not a decode failure
                        # Nothing may keep the dropped pipeline alive (DALI's frames in the
                        # traceback hold it): collected in a forked child, it would hang.
                        exc.__traceback__ = None
                        del pipe
                        self._discard()
                        raise stage from stage.__cause__
                    issued = self.source.issued.get(iteration)
                    self._discard()
                    self._recover(exc, epoch, issued)
                    position += iteration  # re-run the failed batch on a fresh pipeline
                    break
                yield self._batch(outputs)
                iteration += 1

    def _batch(self, outputs: Any) -> Batch:
        images, labels, indices = outputs
        out = (
            self._images(images),
            torch.from_numpy(np.array(labels.as_tensor(), copy=True)).reshape(-1),
            torch.from_numpy(np.array(indices.as_tensor(), copy=True)).reshape(-1),
        )
        keep = out[2] >= 0  # the placeholder of an all-skipped batch has index -1
        if not bool(keep.all()):
            keep_device = keep.to(out[0].device)
            return out[0][keep_device], out[1][keep], out[2][keep]
        return out

    def _images(self, images: Any) -> torch.Tensor:
        out = _to_torch(images, self.output_device)
        spec = self.plan.spec.output
        if spec.dtype == "bfloat16":
            out = out.to(torch.bfloat16)
        if spec.memory_format == "channels_last" and spec.layout == "CHW":
            out = out.permute(0, 3, 1, 2)  # NHWC memory seen as NCHW: torch's channels_last
        return out

    def _recover(self, exc: RuntimeError, epoch: int, issued: np.ndarray | None) -> None:
        """Find the samples DALI failed on; raise, or record fallbacks/skips and return."""
        reason = dali_reason(exc)
        # Samples the source already skipped (bad header, too many pixels) never reached DALI.
        candidates = [
            int(i)
            for i in (() if issued is None else issued)
            if int(i) not in self.recovery.quarantine
        ]
        culprits = [
            (index, why)
            for index in candidates
            if (why := self._probe.failure(self.source_bytes(index))) is not None
        ]
        if not culprits:
            raise DaliPipelinesError(f"DALI pipeline failed: {reason}") from exc
        if self.recovery.on_error == "raise":
            index, why = culprits[0]
            path = self.dataset.path(index)
            raise SampleDecodeError(
                f"sample {index} ({path}): DALI cannot decode it: {why}", path=path, index=index
            ) from exc
        for index, why in culprits:
            path = self.dataset.path(index)
            data = self.dataset.read_bytes(index)
            pil_failure = self.recovery.pil_reason(data)
            if pil_failure is None:
                self.recovery.fallback.add(index)
                self.recovery.note_fallback(epoch, index, path, f"DALI: {why}; decoded by PIL")
            else:
                self.recovery.skip(epoch, index, path, f"DALI: {why}; PIL: {pil_failure}")

    def source_bytes(self, index: int) -> np.ndarray:
        data = self.dataset.read_bytes(index)
        return self.recovery.pnm(data) if index in self.recovery.fallback else data

    def _finish_epoch(self) -> None:
        """Drain an epoch the caller broke out of, so the next one starts clean."""
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
        # After a failure a DALI pipeline is unusable; the next epoch builds a fresh one.
        self._pipe = None
        self._dirty = False

    def close(self) -> None:
        self._pipe = None
        self._probe.close()
