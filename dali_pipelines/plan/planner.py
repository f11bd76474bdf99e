"""Turn a :class:`PipelineSpec` into a :class:`Plan`: ops resolved, states known, chain checked.

The plan is what every backend consumes: the DALI builder adds ``steps`` to a graph, the sample
source calls :meth:`Plan.draw` per sample to get each step's argument inputs, and the contract is
inferred from :attr:`Plan.output`. Nothing here imports DALI or torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

import numpy as np

from ..errors import SpecError
from ..ops.base import Args, Op, OpParams, Size, get_op
from ..ops.state import AudioState, ChainError, ImageState
from ..spec.models import AudioDecodeSpec, OutputSpec, PipelineSpec
from .layout import Layout, make_audio_layout, make_layout

#: The state an op chain carries: an image's, or an audio sample's.
S = TypeVar("S", ImageState, AudioState)


@dataclass(frozen=True)
class Step(Generic[S]):
    """One op of the chain with the states around it."""

    index: int
    op: Op[Any]
    params: OpParams
    state_in: S
    state_out: S
    arg_names: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"ops[{self.index}] ({self.op.name})"

    def draw(self, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        """The op's per-sample arguments for an input of ``size`` (the seed policy calls this)."""
        return self.op.draw_state(self.params, self.state_in, size, rng)


@dataclass(frozen=True)
class Plan(Generic[S]):
    """A resolved spec. ``Plan[ImageState]`` for image specs, ``Plan[AudioState]`` for audio."""

    spec: PipelineSpec
    steps: tuple[Step[S], ...]
    decoded: S  # right after decode
    final: S  # after the last op, before the output conversion
    output: S  # what the loader yields (per image; layout is spec.output.layout)
    #: The sample's outputs (image columns, labels, features, boxes) and per-step sharing.
    layout: Layout = field(default=None)  # type: ignore[assignment]  # make_plan always sets it

    @property
    def audio(self) -> bool:
        return self.spec.audio is not None

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


def audio_output_state(final: AudioState, output: OutputSpec) -> AudioState:
    """An audio chain's output: its float dtype (audio has no uint8 form)."""
    if output.dtype == "uint8":
        raise ChainError("output.dtype", "float32, float16 or bfloat16 for audio", "uint8")
    return final.model_copy(update={"dtype": output.dtype})


def decoded_audio(audio: AudioDecodeSpec) -> AudioState:
    """A decoded wave has no value bound: float WAVs hold any value, and lossy decoders
    overshoot the encoded peak (a Vorbis chirp encoded at 0.9 decodes above 1.0, measured)."""
    return AudioState(channels=audio.out_channels, sample_rate=audio.sample_rate, value_range=None)


def _fold(spec: PipelineSpec, decoded: S) -> tuple[list[Step[S]], S]:
    """The steps of ``spec.ops`` from ``decoded``, each op's shape rule applied in turn."""
    modality = spec.modality
    state = decoded
    steps: list[Step[S]] = []
    for index, params in enumerate(spec.ops):
        op = get_op(cast(OpParams, params).op)  # the ops union is built at run time
        if op.modality != modality:
            raise SpecError(
                f"ops[{index}] ({op.name}): expected an {modality} op in an {modality} spec, "
                f"got an {op.modality} op"
            )
        try:
            out = op.infer(params, state)
        except ChainError as exc:
            raise SpecError(f"ops[{index}] ({op.name}).{exc}") from None
        steps.append(Step(index, op, params, state, out, op.arg_names(params)))
        state = out
    return steps, state


def make_plan(spec: PipelineSpec) -> Plan[Any]:
    """Resolve ops and fold the shape rules; an impossible chain raises :class:`SpecError`.

    The message names the op index, the op and the field, e.g.
    ``ops[2] (center_crop).size: expected <= (200, 200) (input size), got (224, 224)``.
    """
    if spec.audio is not None:
        return _audio_plan(spec, spec.audio)
    decoded = ImageState(channels=spec.decode.channels)
    steps, state = _fold(spec, decoded)
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


def _audio_plan(spec: PipelineSpec, audio: AudioDecodeSpec) -> Plan[AudioState]:
    decoded = decoded_audio(audio)
    steps, state = _fold(spec, decoded)
    try:
        final_out = audio_output_state(state, spec.output)
    except ChainError as exc:
        raise SpecError(str(exc)) from None
    layout = make_audio_layout(spec.source, tuple(steps))
    return Plan(spec, tuple(steps), decoded, state, final_out, layout)
