"""Turn a :class:`PipelineSpec` into a :class:`Plan`: ops resolved, states known, chain checked.

The plan is what every backend consumes: the DALI builder adds ``steps`` to a graph, the sample
source calls :meth:`Plan.draw` per sample to get each step's argument inputs, and the contract is
inferred from :attr:`Plan.output`. Nothing here imports DALI or torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from ..errors import SpecError
from ..ops.base import Args, Op, OpParams, Size, get_op
from ..ops.state import ChainError, ImageState
from ..spec.models import OutputSpec, PipelineSpec
from .layout import Layout, make_layout


@dataclass(frozen=True)
class Step:
    """One op of the chain with the states around it."""

    index: int
    op: Op[Any]
    params: OpParams
    state_in: ImageState
    state_out: ImageState
    arg_names: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"ops[{self.index}] ({self.op.name})"

    def draw(self, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        """The op's per-sample arguments for an input of ``size`` (the seed policy calls this)."""
        return self.op.draw_state(self.params, self.state_in, size, rng)


@dataclass(frozen=True)
class Plan:
    spec: PipelineSpec
    steps: tuple[Step, ...]
    decoded: ImageState  # right after decode
    final: ImageState  # after the last op, before the output conversion
    output: ImageState  # what the loader yields (per image; layout is spec.output.layout)
    #: The sample's outputs (image columns, labels, features, boxes) and per-step sharing.
    layout: Layout = field(default=None)  # type: ignore[assignment]  # make_plan always sets it

    @property
    def random(self) -> bool:
        return any(step.op.random for step in self.steps)

    def draw(self, size: Size, rng: np.random.Generator) -> tuple[list[Args], Size]:
        """Per-sample arguments of every step for a decoded image of ``size`` (h, w).

        Sizes are followed through the chain because later ops (a random crop after a shorter-side
        resize) need the size their input will really have.
        """
        drawn: list[Args] = []
        for step in self.steps:
            args, size = step.draw(size, rng)
            drawn.append(args)
        return drawn, size


def output_state(final: ImageState, output: OutputSpec) -> ImageState:
    """The state after the output conversion (dtype cast, scaling of uint8 to [0, 1])."""
    if output.dtype == "uint8":
        if final.normalized:
            raise ChainError(
                "output.dtype", "a float dtype after normalize", "uint8 (would clip the values)"
            )
        return final.model_copy(update={"dtype": "uint8", "value_range": (0.0, 255.0)})
    if final.dtype == "uint8":
        # torchvision's convention: a float image without normalize is in [0, 1].
        lo, hi = final.value_range
        return final.model_copy(
            update={"dtype": output.dtype, "value_range": (lo / 255.0, hi / 255.0)}
        )
    return final.model_copy(update={"dtype": output.dtype})


def make_plan(spec: PipelineSpec) -> Plan:
    """Resolve ops and fold the shape rules; an impossible chain raises :class:`SpecError`.

    The message names the op index, the op and the field, e.g.
    ``ops[2] (center_crop).size: expected <= (200, 200) (input size), got (224, 224)``.
    """
    decoded = ImageState(channels=spec.decode.channels)
    state = decoded
    steps: list[Step] = []
    for index, params in enumerate(spec.ops):
        op = get_op(cast(OpParams, params).op)  # the ops union is built at run time
        try:
            out = op.infer(params, state)
        except ChainError as exc:
            raise SpecError(f"ops[{index}] ({op.name}).{exc}") from None
        steps.append(Step(index, op, params, state, out, op.arg_names(params)))
        state = out
    try:
        final_out = output_state(state, spec.output)
    except ChainError as exc:
        raise SpecError(str(exc)) from None
    layout = make_layout(spec.source, tuple(steps), final_out.fixed_size is not None)
    return Plan(
        spec=spec,
        steps=tuple(steps),
        decoded=decoded,
        final=state,
        output=final_out,
        layout=layout,
    )
