"""The reference backend's per-sample work: torchvision v2 over every image column and the boxes.

One image column runs the plan's ``Compose`` (boxes go in with it as ``BoundingBoxes``: v2
moves them with the pixels). Several columns run step by step: a shared step replays the same
torch random state for every column, which gives equal-sized columns the same parameters, as
the DALI backend's shared draws do; a per-column step just runs on each column in turn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...ops._dali import torch_dtype
from ...plan import Plan


def _transforms(plan: Plan) -> tuple[list[Any], list[bool]]:
    """v2 transforms of the chain with ToImage first and the output dtype last, and whether
    each one's random draws are shared by the image columns."""
    from torchvision.transforms import v2

    transforms: list[Any] = [v2.ToImage()]
    shared = [True]
    transforms += [step.op.torchvision(step.params) for step in plan.steps]
    shared += list(plan.layout.shared)
    out = plan.spec.output.dtype
    if out != plan.final.dtype:
        # uint8 -> float scales to [0, 1]; float -> uint8 scales back; float -> float casts.
        transforms.append(v2.ToDtype(torch_dtype(out), scale=True))
        shared.append(True)
    return transforms, shared


def build_transform(plan: Plan) -> Any:
    """The torchvision v2 ``Compose`` doing the plan's work, output dtype conversion included."""
    from torchvision.transforms import v2

    return v2.Compose(_transforms(plan)[0])


class SampleTransform:
    """Images (PIL, one per column) and optional boxes -> CHW tensors and transformed boxes."""

    def __init__(self, plan: Plan):
        self.compose = build_transform(plan)
        self.steps, self.shared = _transforms(plan)
        self.box_image = plan.layout.box_image

    def __call__(
        self, images: list[Any], boxes: np.ndarray | None = None
    ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        wrapped = None
        if boxes is not None:
            from torchvision import tv_tensors

            height, width = images[self.box_image].height, images[self.box_image].width
            wrapped = tv_tensors.BoundingBoxes(
                torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                format="XYXY",
                canvas_size=(height, width),
            )
        if len(images) == 1:
            if wrapped is None:
                return [self.compose(images[0])], None
            image, moved = self.compose(images[0], wrapped)
            return [image], moved
        current: list[Any] = list(images)
        for transform, shared in zip(self.steps, self.shared):
            state = torch.get_rng_state() if shared else None
            for column, image in enumerate(current):
                if state is not None:
                    torch.set_rng_state(state)
                if column == self.box_image and wrapped is not None:
                    current[column], wrapped = transform(image, wrapped)
                else:
                    current[column] = transform(image)
        return current, wrapped
