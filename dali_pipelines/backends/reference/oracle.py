"""torchvision's own transforms for a plan: a test oracle, never on the runtime path.

The reference backend applies each op's ``apply_torch`` on the plan's draws
(:mod:`.sample`); ``build_transform`` is what a torchvision user would write for the same spec,
drawing from torch's global RNG. Tests compare the two where the params pin the randomness.
"""

from __future__ import annotations

from typing import Any

from ...ops._dali import torch_dtype
from ...plan import Plan


def build_transform(plan: Plan) -> Any:
    """The torchvision v2 ``Compose`` doing the plan's work, output dtype conversion included."""
    from torchvision.transforms import v2

    transforms: list[Any] = [v2.ToImage()]
    transforms += [step.op.torchvision(step.params) for step in plan.steps]
    out = plan.spec.output.dtype
    if out != plan.final.dtype:
        # uint8 -> float scales to [0, 1]; float -> uint8 scales back; float -> float casts.
        transforms.append(v2.ToDtype(torch_dtype(out), scale=True))
    return v2.Compose(transforms)
