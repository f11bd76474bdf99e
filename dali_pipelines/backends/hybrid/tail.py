"""The torch tail after a worker stage: flips, dtype, normalize and the output conversion.

It runs where the images are: on CPU inside the workers, each on its rows of a shared output
batch (the loader's thread only hands the batch on); on a GPU batched on the device.

The common tail (flips with per-sample flags, ``to_dtype`` to float, ``normalize``, CHW float
output) is one affine map per channel after an optional flip, so it runs as one pass per
sample: flip, HWC -> CHW and uint8 -> float in a single ``copy_`` into the output, then
``x * scale + shift`` in place while the sample is still in cache. Chained torchvision calls
made ~5 passes over the batch (measured here, 64 x 224 x 224, one thread: ~93 ms against
~29 ms). Any other tail runs op by op (:func:`apply_batched`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ...ops._dali import torch_dtype
from ...ops.base import Args
from ...plan import Plan, Step

FLIPS = {"horizontal_flip": -1, "vertical_flip": -2}


def apply_batched(step: Step, batch: torch.Tensor, args: list[Args]) -> torch.Tensor:
    """One tail op on a whole NCHW batch, each sample with its own drawn parameters."""
    name = step.op.name
    if name in FLIPS:
        flags = torch.tensor([bool(a["flip"]) for a in args], device=batch.device)
        return torch.where(flags[:, None, None, None], batch.flip(FLIPS[name]), batch)
    # Deterministic for same-size inputs: the first sample's draw is every sample's.
    return step.op.apply_torch(step.params, batch, args[0] if args else {})


class Tail:
    """Runs ``plan.steps[start:]`` and the output conversion on the workers' HWC results."""

    def __init__(self, plan: Plan, start: int, device: torch.device | None):
        self.plan = plan
        self.steps = plan.steps[start:]
        self.device = device
        self.affine = self._affine()

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
            name, p = step.op.name, step.params
            if name in FLIPS:
                continue
            if name == "to_dtype" and not is_float and p.dtype == "float32":  # type: ignore[attr-defined]
                if p.scale:  # type: ignore[attr-defined]
                    scale = scale / 255.0
                is_float = True
            elif name == "normalize" and step is self.steps[-1]:
                if not is_float:
                    scale = scale / 255.0  # the op scales uint8 to [0, 1] first
                mean = torch.tensor(p.mean).expand(channels)  # type: ignore[attr-defined]
                std = torch.tensor(p.std).expand(channels)  # type: ignore[attr-defined]
                scale, shift = scale / std, (shift - mean) / std
                is_float = True
            else:
                return None
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
        flips = [(k, FLIPS[s.op.name]) for k, s in enumerate(self.steps) if s.op.name in FLIPS]
        for i, (image, drawn) in enumerate(zip(samples, args, strict=True)):
            x = image.to(out.device, non_blocking=True).permute(2, 0, 1)
            dims = [dim for k, dim in flips if int(drawn[k]["flip"])]
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
