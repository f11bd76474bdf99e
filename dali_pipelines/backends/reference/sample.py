"""The reference backend's per-sample work: each op's torch implementation on the plan's draws.

:class:`ReferenceSample` is a pure function of (seed, epoch, index) and the decoded pixels: it
draws every step's arguments with :func:`~dali_pipelines.plan.draws.draw_sample` (the function
the DALI source feeds DALI's argument inputs from, with the same decoded sizes), applies
``op.apply_torch`` step by step to each image column, moves the boxes with
:func:`~dali_pipelines.plan.layout.transform_boxes` and converts the result as the DALI graph's
output step does. So the reference backend yields DALI's batches within each op's stated
tolerance, whatever the worker count, and a resumed epoch equals the uninterrupted one. Nothing
here draws from torch's (or any) global random state.

torchvision's own transforms (``op.torchvision``) are not used here; they stay a test oracle
(:mod:`.oracle`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ...ops.base import Args
from ...ops.python.op import PythonParams, stage_call
from ...ops.python.stage import StageCall
from ...plan import Plan
from ...plan.draws import draw_sample
from ...plan.layout import transform_boxes
from ...plan.planner import Step
from ..assemble import emitted_hwc

#: DALI's output step (``crop_mirror_normalize``) multiplies by the float32 reciprocal of its
#: ``std``: 1 / 255 for uint8 -> float (dividing differs in the last bit for some values), and
#: 1 / float32(1 / 255) = 254.99998 for float -> uint8 (measured bitwise against DALI 2.4).
_INV_255 = float(np.float32(1.0) / np.float32(255.0))
_TIMES_255 = float(np.float32(1.0) / np.float32(1.0 / 255.0))


@dataclass(frozen=True)
class SampleOutput:
    """One sample's images (one per column, as DALI's graph emits them) and moved boxes."""

    images: list[torch.Tensor]
    #: (K, 4) xyxy float32 in output pixels, or ``None`` when the layout has no boxes.
    boxes: np.ndarray | None


class TorchChain:
    """One image column through the plan's steps in torch, then DALI's output conversion.

    ``chain(image, args, index)``: ``image`` is a decoded uint8 CHW tensor, ``args`` the
    column's drawn arguments (one dict per step). The result is in the spec's dtype (float32
    standing in for bfloat16, as DALI's does), HWC when ``hwc`` else CHW. A Python stage runs
    exactly as in DALI's ``python_function`` (the same checks against the planned state); its
    exception comes out as a :class:`~dali_pipelines.ops.python.stage.StageFailure` naming the
    op and the sample, for the caller (who knows the file) to raise.
    """

    def __init__(self, plan: Plan, hwc: bool | None = None):
        self.plan = plan
        self.hwc = emitted_hwc(plan) if hwc is None else hwc
        self.out_dtype = plan.spec.output.dtype
        self.final_uint8 = plan.final.dtype == "uint8"
        # Built on first use, in the process that runs it (a worker), once per step.
        self._stages: dict[int, StageCall] = {}

    def __call__(
        self, image: torch.Tensor, args: Sequence[Args], index: int, recorder: Any = None
    ) -> torch.Tensor:
        """``recorder`` (a profile or a worker's tally) times the Python stages."""
        for step, step_args in zip(self.plan.steps, args, strict=True):
            if isinstance(step.params, PythonParams):
                start = time.perf_counter()
                image = self._stage(step, image, step_args, index)
                if recorder is not None:
                    recorder.record("python", start, time.perf_counter())
            else:
                image = step.op.apply_torch(step.params, image, step_args)
        return self.emit(image.as_subclass(torch.Tensor))

    def _stage(self, step: Step, image: torch.Tensor, args: Args, index: int) -> torch.Tensor:
        stage = self._stages.get(step.index)
        if stage is None:
            assert isinstance(step.params, PythonParams)
            stage = self._stages[step.index] = stage_call(step.params, step.state_in)
        hwc = image.permute(1, 2, 0).contiguous().numpy()
        return torch.from_numpy(stage.run(hwc, int(args["seed"]), index)).permute(2, 0, 1)

    def emit(self, image: torch.Tensor) -> torch.Tensor:
        """The last op's CHW output -> what DALI's output step emits (``graph._output``)."""
        if self.out_dtype == "uint8":
            if not self.final_uint8:  # float in [0, 1] -> uint8, rounded and saturated
                scaled = _round_half_away(image.to(torch.float32).mul(_TIMES_255))
                image = scaled.clamp_(0.0, 255.0).to(torch.uint8)
        else:
            image = image.to(torch.float32)
            if self.final_uint8:  # torchvision's convention: a float image is in [0, 1]
                image = image.mul(_INV_255)
            if self.out_dtype == "float16":
                image = image.to(torch.float16)
        return image.permute(1, 2, 0).contiguous() if self.hwc else image.contiguous()


def _round_half_away(x: torch.Tensor) -> torch.Tensor:
    """DALI's float -> integer conversion rounds halves away from zero (``torch.round``: to
    even). ``x - trunc(x)`` is exact in float, so ties are found exactly."""
    whole = x.trunc()
    tie = (x - whole).abs() == 0.5
    return torch.where(tie, whole + x.sign(), x.round())


class ReferenceSample:
    """``ReferenceSample(plan, seed)(images, boxes, epoch, index)`` -> :class:`SampleOutput`.

    ``images``: one decoded uint8 CHW tensor per image column of the plan's layout; ``boxes``:
    (K, 4) xyxy in decoded pixels of the column the boxes follow, or ``None``. Draws follow the
    layout's sharing rule (:func:`draw_sample`), images go through :class:`TorchChain`.
    """

    def __init__(self, plan: Plan, seed: int):
        self.plan = plan
        self.seed = seed
        self.chain = TorchChain(plan)

    def __call__(
        self,
        images: Sequence[torch.Tensor],
        boxes: np.ndarray | None,
        epoch: int,
        index: int,
    ) -> SampleOutput:
        sizes = [(int(image.shape[-2]), int(image.shape[-1])) for image in images]
        drawn = draw_sample(self.plan, sizes, self.seed, epoch, index)
        out = [self.chain(image, d.args, index) for image, d in zip(images, drawn, strict=True)]
        moved = None
        if boxes is not None:
            box_image = self.plan.layout.box_image
            moved = transform_boxes(self.plan, np.asarray(boxes, np.float32), drawn[box_image])
        return SampleOutput(out, moved)
