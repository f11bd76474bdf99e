"""What a sample holds and how its image columns share random draws, resolved against the plan.

The spec's ``source`` section (or the classic one image + one label when it has none) becomes a
:class:`Layout`: the image columns, the per-step sharing rule, and the tensors the loader yields
in declared order. Backends follow it: the DALI source emits one encoded column per image
column and one set of argument inputs per column; the reference backend applies the shared
steps with one random state per sample.

How the columns draw their parameters is the seed policy's (:mod:`.draws`); this module says
which steps are shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import SpecError
from ..spec.source import (
    DEFAULT_AUDIO_SOURCE,
    DEFAULT_SOURCE,
    AudioOutput,
    BoxesOutput,
    FeaturesOutput,
    ImageOutput,
    LabelOutput,
    SourceSpec,
    Varying,
)
from .draws import Drawn

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .planner import Plan, Step

SlotKind = Literal[
    "image", "image_sizes", "label", "features", "boxes", "box_labels", "counts", "audio", "lengths"
]


@dataclass(frozen=True)
class ImageColumn:
    """An encoded media column: an image column, or an audio spec's one audio column."""

    position: int  # among the image columns
    name: str
    key: str  # the dataset's column (manifest column, tar extension)
    #: ``None`` when the chain ends in a fixed size; otherwise how a batch holds the sizes.
    varying: Varying | None


@dataclass(frozen=True)
class Slot:
    """One tensor (or list of tensors) of a yielded batch."""

    name: str
    kind: SlotKind
    ref: int  # image column, label, features output, or 0 for the boxes
    varying: Varying | None = None


@dataclass(frozen=True)
class Layout:
    source: SourceSpec
    #: True for a spec without a ``source`` section (the classic ``(images, labels)``).
    classic: bool
    images: tuple[ImageColumn, ...]
    labels: tuple[LabelOutput, ...]
    features: tuple[FeaturesOutput, ...]
    boxes: BoxesOutput | None
    box_image: int  # the image column the boxes follow
    #: Per plan step: draws shared by the image columns of a sample.
    shared: tuple[bool, ...]
    slots: tuple[Slot, ...]
    #: Some random step draws per column (each column then needs its own generator).
    per_column: bool = False
    #: The audio output of an audio spec (its media column is ``images[0]``); else ``None``.
    audio: AudioOutput | None = None

    @property
    def modality(self) -> Literal["image", "audio"]:
        return "image" if self.audio is None else "audio"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(slot.name for slot in self.slots)

    @property
    def single(self) -> bool:
        """One image column and no boxes: drawing is the classic single-generator pass."""
        return len(self.images) == 1 and self.boxes is None


def _step_shared(step: Step, rule: bool | Literal["geometric"]) -> bool:
    if rule == "geometric":
        return bool(getattr(step.op, "geometric", False))
    return bool(rule)


def make_layout(source: SourceSpec | None, steps: tuple[Step, ...], fixed: bool) -> Layout:
    """Resolve ``source`` for a chain whose output size is ``fixed`` (or varies per sample).

    Raises :class:`SpecError` when boxes meet an op without a box rule, or when two yielded
    tensors would have the same name.
    """
    classic = source is None
    spec = DEFAULT_SOURCE if source is None else source
    images: list[ImageColumn] = []
    slots: list[Slot] = []
    labels: list[LabelOutput] = []
    features: list[FeaturesOutput] = []
    boxes: BoxesOutput | None = None
    for output in spec.outputs:
        if isinstance(output, ImageOutput):
            # The classic sample has no policy: its loader refuses batches of varying sizes.
            varying = None if fixed or classic else (output.varying or spec.varying)
            column = ImageColumn(len(images), output.name, output.key, varying)
            slots.append(Slot(output.name, "image", column.position, varying))
            if varying == "pad":
                slots.append(Slot(f"{output.name}_sizes", "image_sizes", column.position))
            images.append(column)
        elif isinstance(output, LabelOutput):
            slots.append(Slot(output.name, "label", len(labels)))
            labels.append(output)
        elif isinstance(output, FeaturesOutput):
            slots.append(Slot(output.name, "features", len(features)))
            features.append(output)
        elif isinstance(output, AudioOutput):
            raise SpecError(
                f"source.outputs.{output.name}: expected image outputs in an image spec (an "
                "'audio' output needs the spec's audio section), got an audio output"
            )
        else:
            boxes = output
            policy = output.varying or spec.varying
            slots.append(Slot(output.name, "boxes", 0, policy))
            slots.append(Slot(f"{output.name}_labels", "box_labels", 0, policy))
            if policy == "pad":
                slots.append(Slot(f"{output.name}_counts", "counts", 0))
    names = [slot.name for slot in slots]
    for name in names:
        if names.count(name) > 1:
            raise SpecError(f"source.outputs: expected distinct output names, got {name!r} twice")
    box_image = _box_image(boxes, images, steps)
    rule = spec.shared_random
    shared = tuple(_step_shared(step, rule) for step in steps)
    return Layout(
        source=spec,
        classic=classic,
        images=tuple(images),
        labels=tuple(labels),
        features=tuple(features),
        boxes=boxes,
        box_image=box_image,
        shared=shared,
        slots=tuple(slots),
        per_column=any(step.op.random and not s for step, s in zip(steps, shared)),
    )


def _box_image(
    boxes: BoxesOutput | None, images: list[ImageColumn], steps: tuple[Step, ...]
) -> int:
    """The image column the boxes follow; :class:`SpecError` for an op without a box rule."""
    if boxes is None:
        return 0
    for step in steps:
        if step.op.box_rule == "refuse":
            raise SpecError(
                f"ops[{step.index}] ({step.op.name}): expected an op that keeps boxes "
                f"aligned (flips, crops, resize, pad or a pixel-wise op) with a "
                f"'boxes' output, got {step.op.name}"
            )
    if boxes.image is None:
        return 0
    return next(c.position for c in images if c.name == boxes.image)


def make_audio_layout(source: SourceSpec | None, steps: tuple[Step, ...]) -> Layout:
    """The layout of an audio spec: the audio column (padded or listed, always with its
    lengths), then labels and features in declared order."""
    spec = DEFAULT_AUDIO_SOURCE if source is None else source
    audio = spec.audio
    if audio is None:
        kinds = sorted({o.kind for o in spec.outputs})
        raise SpecError(
            f"source.outputs: expected one 'audio' output in an audio spec, got {kinds}"
        )
    varying = audio.varying or spec.varying
    slots: list[Slot] = []
    labels: list[LabelOutput] = []
    features: list[FeaturesOutput] = []
    for output in spec.outputs:
        if isinstance(output, AudioOutput):
            slots.append(Slot(output.name, "audio", 0, varying))
            slots.append(Slot(output.lengths_name, "lengths", 0))
        elif isinstance(output, LabelOutput):
            slots.append(Slot(output.name, "label", len(labels)))
            labels.append(output)
        elif isinstance(output, FeaturesOutput):
            slots.append(Slot(output.name, "features", len(features)))
            features.append(output)
    return Layout(
        source=spec,
        classic=source is None,
        images=(ImageColumn(0, audio.name, audio.key, varying),),
        labels=tuple(labels),
        features=tuple(features),
        boxes=None,
        box_image=0,
        shared=tuple(True for _ in steps),
        slots=tuple(slots),
        audio=audio,
    )


def transform_boxes(plan: Plan, boxes: np.ndarray, drawn: Drawn) -> np.ndarray:
    """``boxes`` (K, 4) xyxy in decoded pixels -> pixels of the chain's output, per the draws."""
    for step, args, size in zip(plan.steps, drawn.args, drawn.sizes):
        if len(boxes) == 0:
            break
        moved = step.op.transform_boxes(step.params, boxes, args, size)
        if moved is None:  # make_layout refused such a chain; this guards direct calls
            raise SpecError(f"{step.label}: expected an op with a box rule, got {step.op.name}")
        boxes = moved
    return np.ascontiguousarray(boxes, dtype=np.float32).reshape(-1, 4)
