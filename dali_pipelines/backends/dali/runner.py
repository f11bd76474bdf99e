"""Run a compiled DALI pipeline epoch by epoch and hand out torch tensors.

Our own loop over ``pipe.run()`` rather than DALIGenericIterator: the source decides where an
epoch ends (StopIteration), a partial last batch is natural, and a failure can be mapped back to
the sample's file because the source remembers which indices each iteration carried.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ...data.source import SampleSource
from ...errors import DaliPipelinesError, SampleDecodeError
from ...plan import Plan
from .graph import GraphOptions, build_pipeline
from .source import BatchSource

# DALI reports a failing sample by its position in the batch: "sample #3" or "'#3'".
_SAMPLE_POSITION = re.compile(r"(?:sample\s*#|'#)(\d+)")


def _to_torch(tensor_list: Any, device: torch.device | None) -> torch.Tensor:
    """Copy one DALI output batch into a fresh torch tensor (DALI reuses its buffers)."""
    dense = tensor_list.as_tensor()
    if hasattr(dense, "copy_to_external") and device is not None and device.type == "cuda":
        out = torch.empty(dense.shape(), dtype=_torch_dtype(dense), device=device)
        from nvidia.dali.plugin.pytorch import feed_ndarray

        feed_ndarray(tensor_list, out, cuda_stream=torch.cuda.current_stream(device))
        return out
    return torch.from_numpy(np.array(dense, copy=True))


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
    ):
        self.dataset = dataset
        self.plan = plan
        self.options = options
        self.output_device = output_device
        self.source = BatchSource(dataset, plan, options.seed)
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
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        self._finish_epoch()
        pipe = self._pipeline()
        self.source.start_epoch(epoch, batches, start_batch)
        self._dirty = True
        iteration = 0
        while True:
            try:
                images, labels, indices = pipe.run()
            except StopIteration:
                self._dirty = False
                pipe.reset()
                return
            except DaliPipelinesError:
                self._discard()
                raise
            except RuntimeError as exc:
                raise self._decode_error(exc, iteration) from exc
            yield (
                self._images(images),
                torch.from_numpy(np.array(labels.as_tensor(), copy=True)).reshape(-1),
                torch.from_numpy(np.array(indices.as_tensor(), copy=True)).reshape(-1),
            )
            iteration += 1

    def _images(self, images: Any) -> torch.Tensor:
        out = _to_torch(images, self.output_device)
        spec = self.plan.spec.output
        if spec.dtype == "bfloat16":
            out = out.to(torch.bfloat16)
        if spec.memory_format == "channels_last" and spec.layout == "CHW":
            out = out.permute(0, 3, 1, 2)  # NHWC memory seen as NCHW: torch's channels_last
        return out

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
        except Exception:
            self._discard()

    def _discard(self) -> None:
        # After a failure a DALI pipeline is unusable; the next epoch builds a fresh one.
        self._pipe = None
        self._dirty = False

    def _decode_error(self, exc: RuntimeError, iteration: int) -> DaliPipelinesError:
        issued = self.source.issued.get(iteration)
        self._discard()
        match = _SAMPLE_POSITION.search(str(exc))
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if issued is not None and match and int(match.group(1)) < len(issued):
            index = int(issued[int(match.group(1))])
            path = self.dataset.path(index)
            return SampleDecodeError(
                f"sample {index} ({path}): DALI could not process it: {_reason(exc)}",
                path=path,
                index=index,
            )
        return DaliPipelinesError(f"DALI pipeline failed: {first_line}")

    def close(self) -> None:
        self._pipe = None


def _reason(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for line in lines:
        if "decode" in line.lower() or "failure" in line.lower():
            return line
    return lines[-1] if lines else type(exc).__name__
