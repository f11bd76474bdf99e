"""The spec's ``source`` section: which outputs a sample has and where each comes from.

A spec without it describes the classic sample: one image and one class label (what an
``ImageFolder`` gives). With it, a sample can hold several images (frames of one event, an OCR
render and a photo), numeric feature columns, a label and detection boxes. Every image output
goes through the same op chain; ``shared_random`` says whether the columns of one sample see the
same random parameters (aligned frames) or draw their own.

The section names columns, not files: a :class:`~dali_pipelines.data.Manifest` maps a column to
a CSV/JSONL column, a :class:`~dali_pipelines.data.WebDataset` to a file extension in the tar,
and :class:`~dali_pipelines.data.Coco` has the fixed columns ``image`` and ``boxes``.
"""

from __future__ import annotations

import keyword
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from .._model import Bool, FrozenModel

#: What an output whose size varies per sample becomes in a batch: one tensor padded to the
#: batch maximum plus a tensor of the true sizes, or a list of per-sample tensors.
Varying = Literal["pad", "list"]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


def _not_keyword(name: str) -> str:
    if keyword.iskeyword(name):
        raise ValueError(f"expected an identifier that is not a Python keyword, got {name!r}")
    return name


class ImageOutput(FrozenModel):
    """An encoded image per sample, decoded and sent through the spec's op chain."""

    kind: Literal["image"] = "image"
    name: Identifier
    #: The dataset column (manifest column, tar extension); defaults to ``name``.
    column: str | None = None
    #: Policy when the chain does not end in a fixed size; ``None``: the section's ``varying``.
    varying: Varying | None = None

    @property
    def key(self) -> str:
        return self.column if self.column is not None else self.name


class LabelOutput(FrozenModel):
    """One int64 class index per sample; a column may hold ints or class names."""

    kind: Literal["label"] = "label"
    name: Identifier = "labels"
    column: str = "label"
    #: Class names in index order. Without it, names found in the data are sorted (as
    #: ImageFolder sorts folders) and ints are taken as they are.
    classes: tuple[str, ...] | None = None

    @field_validator("classes")
    @classmethod
    def _distinct(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and (not value or len(set(value)) != len(value)):
            raise ValueError(f"expected distinct class names, got {list(value)}")
        return value


class FeaturesOutput(FrozenModel):
    """Numeric columns gathered into one float32 tensor of shape (N, D), D = len(columns)."""

    kind: Literal["features"] = "features"
    name: Identifier = "features"
    columns: tuple[str, ...] = Field(min_length=1)


class BoxesOutput(FrozenModel):
    """Detection boxes in absolute pixels (x1, y1, x2, y2) of their image after the op chain.

    Yields ``<name>`` (boxes), ``<name>_labels`` (one class index per box) and, padded,
    ``<name>_counts`` (boxes per sample); padding rows are zeros with label -1.
    """

    kind: Literal["boxes"] = "boxes"
    name: Identifier = "boxes"
    column: str = "boxes"
    #: The image output the boxes belong to; defaults to the first image output.
    image: str | None = None
    varying: Varying | None = None


class AudioOutput(FrozenModel):
    """The encoded audio of a sample (an audio spec's one media output), decoded and sent
    through the spec's audio ops. A batch holds it padded to its longest sample, with the true
    lengths (samples of a wave, frames of features) in ``lengths`` (N,) int64, always yielded.
    """

    kind: Literal["audio"] = "audio"
    name: Identifier = "audio"
    #: The dataset column (manifest column of paths, tar extension); defaults to ``name``.
    column: str | None = None
    #: Manifest columns of a segment's start and duration in seconds (read without decoding
    #: the rest of the file); ``None``: the whole file.
    offset: str | None = None
    duration: str | None = None
    #: The name of the lengths tensor; ``None``: ``<name>_lengths``.
    lengths: Identifier | None = None
    #: ``pad`` (one tensor padded with zeros) or ``list`` (per-sample tensors).
    varying: Varying | None = None

    @property
    def key(self) -> str:
        return self.column if self.column is not None else self.name

    @property
    def lengths_name(self) -> str:
        return self.lengths if self.lengths is not None else f"{self.name}_lengths"


Output = Annotated[
    ImageOutput | AudioOutput | LabelOutput | FeaturesOutput | BoxesOutput,
    Field(discriminator="kind"),
]


class SourceSpec(FrozenModel):
    """The outputs of a sample, in the order the loader yields them."""

    outputs: tuple[Output, ...] = Field(min_length=1)
    #: ``"geometric"`` (default): flips, crops, resizes, rotations draw once per sample and every
    #: image column gets the same parameters; colour ops draw per column. ``true``: every random
    #: op is shared. ``false``: every column draws its own parameters.
    shared_random: Bool | Literal["geometric"] = "geometric"
    #: Default policy for outputs whose size varies per sample.
    varying: Varying = "pad"

    @model_validator(mode="after")
    def _consistent(self) -> SourceSpec:
        images = [o.name for o in self.outputs if isinstance(o, ImageOutput)]
        audio = [o.name for o in self.outputs if isinstance(o, AudioOutput)]
        if audio and (images or len(audio) > 1):
            raise ValueError(
                f"outputs: expected one 'audio' output and no image outputs, got audio {audio} "
                f"and images {images}"
            )
        if not images and not audio:
            raise ValueError(
                "outputs: expected at least one output of kind 'image' (or one 'audio'), got none"
            )
        seen: dict[str, int] = {}
        for position, name in enumerate(n for o in self.outputs for n in expanded_names(o, self)):
            _not_keyword(name)
            if name in seen:
                raise ValueError(
                    f"outputs[{position}]: expected distinct output names, got {name!r} twice"
                )
            seen[name] = position
        boxes = [o for o in self.outputs if isinstance(o, BoxesOutput)]
        if boxes and audio:
            raise ValueError("outputs: expected no 'boxes' output with audio, got one")
        if len(boxes) > 1:
            raise ValueError(f"outputs: expected at most one 'boxes' output, got {len(boxes)}")
        for box in boxes:
            if box.image is not None and box.image not in images:
                raise ValueError(
                    f"outputs.{box.name}.image: expected one of {images}, got {box.image!r}"
                )
        return self

    @property
    def images(self) -> tuple[ImageOutput, ...]:
        return tuple(o for o in self.outputs if isinstance(o, ImageOutput))

    @property
    def audio(self) -> AudioOutput | None:
        return next((o for o in self.outputs if isinstance(o, AudioOutput)), None)


def expanded_names(output: Output, source: SourceSpec) -> tuple[str, ...]:
    """The tensors one declared output yields, in order (a padded output adds its sizes)."""
    if isinstance(output, BoxesOutput):
        policy = output.varying or source.varying
        extra = (f"{output.name}_counts",) if policy == "pad" else ()
        return (output.name, f"{output.name}_labels", *extra)
    if isinstance(output, AudioOutput):
        return (output.name, output.lengths_name)
    return (output.name,)


#: The classic sample: what a spec without a ``source`` section means.
DEFAULT_SOURCE = SourceSpec(outputs=(ImageOutput(name="images"), LabelOutput()))
#: The classic audio sample: an audio spec without a ``source`` section yields
#: ``(audio, lengths, labels)``.
DEFAULT_AUDIO_SOURCE = SourceSpec(outputs=(AudioOutput(lengths="lengths"), LabelOutput()))
