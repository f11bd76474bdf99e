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


Output = Annotated[
    ImageOutput | LabelOutput | FeaturesOutput | BoxesOutput, Field(discriminator="kind")
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
        if not images:
            raise ValueError("outputs: expected at least one output of kind 'image', got none")
        seen: dict[str, int] = {}
        for position, name in enumerate(n for o in self.outputs for n in expanded_names(o, self)):
            _not_keyword(name)
            if name in seen:
                raise ValueError(
                    f"outputs[{position}]: expected distinct output names, got {name!r} twice"
                )
            seen[name] = position
        boxes = [o for o in self.outputs if isinstance(o, BoxesOutput)]
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


def expanded_names(output: Output, source: SourceSpec) -> tuple[str, ...]:
    """The tensors one declared output yields, in order (a padded output adds its sizes)."""
    if isinstance(output, BoxesOutput):
        policy = output.varying or source.varying
        extra = (f"{output.name}_counts",) if policy == "pad" else ()
        return (output.name, f"{output.name}_labels", *extra)
    return (output.name,)


#: The classic sample: what a spec without a ``source`` section means.
DEFAULT_SOURCE = SourceSpec(outputs=(ImageOutput(name="images"), LabelOutput()))
