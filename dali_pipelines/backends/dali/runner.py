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

from ...data.columns import BoundSource
from ...data.source import SampleSource
from ...errors import DaliPipelinesError, SampleDecodeError
from ...plan import Plan
from ..collate import keep_rows, varying_outputs
from ..recovery import Recovery, fallback_key
from .graph import GraphOptions, build_pipeline
from .probe_decode import DecodeProbe, dali_reason
from .source import BatchSource

#: The layout's slots in order, then the sample indices: (images, labels, indices) classically.
Batch = tuple[Any, ...]


def _to_torch(tensor_list: Any, device: torch.device | None) -> torch.Tensor:
    """Copy one DALI output batch into a fresh torch tensor (DALI reuses its buffers)."""
    if device is not None and device.type == "cuda":
        from nvidia.dali.plugin.pytorch import feed_ndarray

        dense = tensor_list.as_tensor()
        out = torch.empty(dense.shape(), dtype=_torch_dtype(dense), device=device)
        feed_ndarray(tensor_list, out, cuda_stream=torch.cuda.current_stream(device))
        return out
    return torch.from_numpy(np.array(tensor_list.as_tensor(), copy=True))


def _host(tensor_list: Any) -> torch.Tensor:
    """A dense CPU output (labels, features) as a fresh torch tensor."""
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
        bound: BoundSource | None = None,
    ):
        self.dataset = dataset
        self.plan = plan
        self.options = options
        self.output_device = output_device
        self.recovery = recovery if recovery is not None else Recovery(color=plan.spec.decode.color)
        self.source = BatchSource(dataset, plan, options.seed, self.recovery, max_pixels, bound)
        self.bound = self.source.bound
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
                    from ...ops.python.stage import stage_error_from

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

    def _batch(self, outputs: Any) -> tuple[Any, ...]:
        """DALI's outputs -> the layout's slots in order, then the indices: (images, labels,
        indices) for the classic layout."""
        layout = self.plan.layout
        *data, indices = outputs
        ids = torch.from_numpy(np.array(indices.as_tensor(), copy=True)).reshape(-1)
        columns, labels = len(layout.images), len(layout.labels)
        varying: dict[str, Any] = {}
        if any(slot.varying is not None for slot in layout.slots):
            per_image = {
                c.position: self._samples(data[c.position])
                for c in layout.images
                if c.varying is not None
            }
            boxes = None
            if layout.boxes is not None:
                at = columns + labels + len(layout.features)
                boxes = (self._samples(data[at], False), self._samples(data[at + 1], False))
            varying = varying_outputs(layout.slots, per_image, boxes, self._sample_layout())
        values: list[Any] = []
        for slot in layout.slots:
            if slot.name in varying:
                values.append(varying[slot.name])
            elif slot.kind == "image":
                values.append(self._images(data[slot.ref]))
            elif slot.kind == "label":
                values.append(_host(data[columns + slot.ref]).reshape(-1))
            elif slot.kind == "features":
                values.append(_host(data[columns + labels + slot.ref]))
            else:  # sizes, box classes and counts came with their varying slot
                values.append(varying[slot.name])
        keep = ids >= 0  # the placeholder of an all-skipped batch has index -1
        if not bool(keep.all()):
            return (*(keep_rows(v, keep) for v in values), ids[keep])
        return (*values, ids)

    def _sample_layout(self) -> str:
        return self.plan.spec.output.layout

    def _samples(self, tensor_list: Any, image: bool = True) -> list[torch.Tensor]:
        """Per-sample tensors of an output whose shape varies (images: as the spec says)."""
        if hasattr(tensor_list, "as_cpu"):
            tensor_list = tensor_list.as_cpu()
        count = len(tensor_list)
        out = [torch.from_numpy(np.array(tensor_list[i], copy=True)) for i in range(count)]
        if not image:
            return out
        spec = self.plan.spec.output
        if spec.memory_format == "channels_last" and spec.layout == "CHW":
            out = [x.permute(2, 0, 1) for x in out]  # DALI emitted HWC: CHW views of it
        if spec.dtype == "bfloat16":
            out = [x.to(torch.bfloat16) for x in out]
        if self.output_device is not None:
            out = [x.to(self.output_device) for x in out]
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
            (index, column, why)
            for index in candidates
            for column in range(len(self.bound.images))
            if (why := self._probe.failure(self.source_bytes(index, column))) is not None
        ]
        if not culprits:
            raise DaliPipelinesError(f"DALI pipeline failed: {reason}") from exc
        if self.recovery.on_error == "raise":
            index, column, why = culprits[0]
            path = self.bound.path(index, column)
            raise SampleDecodeError(
                f"sample {index} ({path}): DALI cannot decode it: {why}", path=path, index=index
            ) from exc
        for index, column, why in culprits:
            path = self.bound.path(index, column)
            data = self.bound.images[column](index)
            pil_failure = self.recovery.pil_reason(data)
            if pil_failure is None:
                self.recovery.fallback.add(fallback_key(index, column))
                self.recovery.note_fallback(epoch, index, path, f"DALI: {why}; decoded by PIL")
            else:
                self.recovery.skip(epoch, index, path, f"DALI: {why}; PIL: {pil_failure}")

    def source_bytes(self, index: int, column: int = 0) -> np.ndarray:
        data = self.bound.images[column](index)
        key = fallback_key(index, column)
        return self.recovery.pnm(data) if key in self.recovery.fallback else data

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
