"""The pipeline spec: decode -> ordered ops -> output, and what a sample holds (``source``)."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Field, ValidationInfo, model_validator

from .._model import FrozenModel
from ..errors import SpecError
from ..ops import registered_ops
from ..ops.base import on_register
from ..ops.batch import validate_batch_op
from ..ops.state import Dtype
from .limits import LIMITS_CONTEXT, SpecLimits, check_tree
from .source import SourceSpec

SCHEMA_VERSION: Literal[1] = 1


class DecodeSpec(FrozenModel):
    """How encoded images become pixels. EXIF orientation is always applied (as DALI does)."""

    color: Literal["rgb", "grayscale"] = "rgb"

    @property
    def channels(self) -> int:
        return 3 if self.color == "rgb" else 1


class OutputSpec(FrozenModel):
    """What the loader yields. A float output without normalize is in [0, 1] (torchvision's)."""

    layout: Literal["CHW", "HWC"] = "CHW"
    memory_format: Literal["contiguous", "channels_last"] = "contiguous"
    dtype: Dtype = "float32"


def _op_union() -> Any:
    models = tuple(op.Params for op in registered_ops().values())
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="op")]  # noqa: UP007 - runtime tuple


OpSpec = _op_union()


def refresh_op_union() -> None:
    """Re-resolve the ``ops`` union after an op registered late (a plugin, a Python op)."""
    global OpSpec
    OpSpec = _op_union()
    PipelineSpec.model_fields["ops"].annotation = tuple[OpSpec, ...]  # type: ignore[valid-type]
    PipelineSpec.model_rebuild(force=True)


#: One registered batch op (``{"op": "mixup", "alpha": 0.2}``): see dali_pipelines.ops.batch.
BatchOpSpec = Annotated[Any, BeforeValidator(validate_batch_op)]


class PipelineSpec(FrozenModel):
    """A validated, immutable pipeline description. ``fingerprint`` identifies it in reports."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: str | None = None
    decode: DecodeSpec = DecodeSpec()
    ops: tuple[OpSpec, ...] = ()  # type: ignore[valid-type]
    output: OutputSpec = OutputSpec()
    #: Torch ops on whole batches after the per-sample ops (MixUp, CutMix); labels become soft.
    #: Left out of dumps and fingerprints when empty, so classic specs keep theirs.
    batch_ops: tuple[BatchOpSpec, ...] = Field(default=(), exclude_if=lambda value: not value)
    #: What a sample holds (several images, features, boxes); ``None``: one image and a label.
    #: Left out of dumps and fingerprints when ``None``, so classic specs keep theirs.
    source: SourceSpec | None = Field(default=None, exclude_if=lambda value: value is None)

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any, info: ValidationInfo) -> Any:
        """Refuse input beyond the limits (:mod:`.limits`) before anything walks it."""
        limits = (info.context or {}).get(LIMITS_CONTEXT) or SpecLimits()
        check_tree(data, limits)
        return data

    def canonical_json(self) -> str:
        """Stable JSON: sorted keys, defaults included, the display ``name`` left out.

        An in-process Python stage (which cannot be dumped) appears as its callable's
        ``module.qualname``, so such a spec still has a fingerprint that survives a restart.
        """
        data = self.model_dump(mode="json", exclude={"name"}, context={"fingerprint": True})
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def check_dumpable(self) -> None:
        """Raise :class:`SpecError` naming the first op that holds an in-process callable."""
        from ..ops.python.op import in_process_message

        for index, op in enumerate(self.ops):
            if getattr(op, "in_process", False):
                raise SpecError(f"ops[{index}]: {in_process_message(op)}")

    @property
    def fingerprint(self) -> str:
        """First 16 hex digits of the SHA-256 of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:16]


on_register(refresh_op_union)
