"""The torch tail after a worker stage: flips, dtype, normalize and the output conversion.

It runs where the images are: on CPU inside the workers, each on its rows of a shared output
batch (the loader's thread only hands the batch on); on a GPU batched on the device.

The common tail (flips with per-sample flags, ``to_dtype`` to float, ``normalize``, CHW float
output) is one affine map per channel after an optional flip, so it runs as one pass per
sample: flip, HWC -> CHW and uint8 -> float in a single ``copy_`` into the output, then
``x * scale + shift`` in place while the sample is still in cache. Chained torchvision calls
made ~5 passes over the batch (measured here, 64 x 224 x 224, one thread: ~93 ms against
~29 ms). Each op says whether and how it fuses (:meth:`~dali_pipelines.ops.base.Op.batch_affine`);
any other tail runs op by op (:meth:`~dali_pipelines.ops.base.Op.apply_batch`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ...ops._dali import torch_dtype
from ...ops.base import Args
from ...plan import Plan, Step


def apply_batched(step: Step, batch: torch.Tensor, args: list[Args]) -> torch.Tensor:
    """One tail op on a whole NCHW batch, each sample with its own drawn parameters."""
    return step.op.apply_batch(step.params, batch, args)


class Tail:
    """Runs ``plan.steps[start:]`` and the output conversion on the workers' HWC results."""

    def __init__(self, plan: Plan, start: int, device: torch.device | None):
        self.plan = plan
        self.steps = plan.steps[start:]
        self.device = device
        self.affine = self._affine()
        #: (tail position, dim) of each per-sample flip, for the fused pass.
        self.flips = [
            (k, affine.flip_dim)
            for k, step in enumerate(self.steps)
            if (affine := step.op.batch_affine(step.params, True)) is not None
            and affine.flip_dim is not None
        ]

    def _affine(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(scale, shift) per channel when the tail is flips + to float + normalize."""
        out = self.plan.spec.output
        if out.dtype != "float32" or self.plan.final.dtype != "float32":
            return None
        if out.layout != "CHW" or out.memory_format != "contiguous":
            return None
        channels = self.plan.final.channels
        scale, shift = torch.ones(channels), torch.zeros(channels)
        state = self.steps[0].state_in if self.steps else self.plan.final
        if state.dtype != "uint8":
            return None
        is_float = False
        for step in self.steps:
            affine = step.op.batch_affine(step.params, is_float)
            if affine is None or (affine.last_only and step is not self.steps[-1]):
                return None
            if affine.flip_dim is not None:
                continue
            if affine.scales_uint8 and not is_float:
                scale = scale / 255.0  # the op scales uint8 to [0, 1] first
            sub = torch.tensor(affine.sub).expand(channels)
            div = torch.tensor(affine.div).expand(channels)
            scale, shift = scale / div, (shift - sub) / div
            is_float = is_float or affine.to_float
        if not is_float:
            scale = scale / 255.0  # the output conversion: uint8 -> float in [0, 1]
        return scale.view(-1, 1, 1), shift.view(-1, 1, 1)

    def allocate(self, n: int, device: torch.device | None, share: bool) -> torch.Tensor | None:
        """The output batch of ``n`` images (``None`` when the output size varies)."""
        fixed = self.plan.output.fixed_size
        if fixed is None:
            return None
        out = self.plan.spec.output
        c, (h, w) = self.plan.output.channels, fixed
        shape = (n, h, w, c) if out.layout == "HWC" else (n, c, h, w)
        if out.layout == "CHW" and out.memory_format == "channels_last":
            batch = torch.empty((n, h, w, c), dtype=torch_dtype(out.dtype), device=device)
            batch = batch.permute(0, 3, 1, 2)
        else:
            batch = torch.empty(shape, dtype=torch_dtype(out.dtype), device=device)
        # Workers write their rows straight into a shared batch: nothing to gather afterwards.
        return batch.share_memory_() if share else batch

    def run(self, samples: Sequence[torch.Tensor], args: list[list[Args]], out: Any) -> Any:
        """Write the tail's result for HWC ``samples`` into ``out`` (or return it when None)."""
        if self.affine is not None and out is not None:
            self._fused(samples, args, out)
            return out
        batch = torch.stack([x.to(self.device or "cpu") for x in samples]).permute(0, 3, 1, 2)
        for position, step in enumerate(self.steps):
            batch = apply_batched(step, batch, [a[position] for a in args])
        result = self._output(batch)
        if out is None:
            return result
        out.copy_(result)
        return out

    def _fused(self, samples: Sequence[torch.Tensor], args: list[list[Args]], out: Any) -> None:
        assert self.affine is not None
        scale, shift = (t.to(out.device) for t in self.affine)
        for i, (image, drawn) in enumerate(zip(samples, args, strict=True)):
            x = image.to(out.device, non_blocking=True).permute(2, 0, 1)
            dims = [dim for k, dim in self.flips if int(drawn[k]["flip"])]
            for dim in {d for d in dims if dims.count(d) % 2}:  # two flips cancel
                x = x.flip(dim)
            out[i].copy_(x)
            torch.addcmul(shift, out[i], scale, out=out[i])

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

    def empty(self) -> torch.Tensor:
        out = self.plan.output
        shape = (0, out.channels, out.height or 0, out.width or 0)
        return self._output(torch.empty(shape, dtype=torch_dtype(self.plan.final.dtype)))
