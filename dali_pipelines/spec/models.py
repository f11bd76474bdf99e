"""The pipeline spec: decode -> ordered ops -> output, and what a sample holds (``source``)."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Field, ValidationInfo, model_validator

from .._model import Bool, Float, FrozenModel, Int
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


class AudioDecodeSpec(FrozenModel):
    """How encoded audio (WAV, FLAC, OGG) becomes samples: float32 in [-1, 1] at one rate.

    A spec with this section is an audio spec: its ops are audio ops and a sample is a wave
    (then features). Files whose rate, channel count or duration fall outside the bounds
    below are bad data: an error naming the file, or a counted skip with ``on_error="skip"``.
    """

    #: Every file is resampled to this rate while decoding (DALI's decoder does it in one op).
    sample_rate: Int = Field(16000, ge=1000, le=384_000)
    #: Average the channels into one (speech); ``False`` keeps ``channels`` channels.
    mono: Bool = True
    #: The channel count every file must have (``None``: any, only with ``mono``).
    channels: Int | None = Field(None, ge=1, le=64)
    #: Files recorded below / above these rates are refused (``None``: no bound).
    min_sample_rate: Int | None = Field(None, ge=1)
    max_sample_rate: Int | None = Field(None, ge=1)
    #: A file (or window) longer than this is refused: it bounds a sample's memory.
    max_seconds: Float = Field(3600.0, gt=0)
    #: Low-pass before resampling (soxr HQ's band limit, docs/audio.md). ``False``: DALI's
    #: decoder resamples alone, faster, but content above the new Nyquist rate folds back.
    antialias: Bool = True

    @model_validator(mode="after")
    def _consistent(self) -> AudioDecodeSpec:
        if not self.mono and self.channels is None:
            raise ValueError(
                "channels: expected the channel count to keep when mono is false, got None"
            )
        low, high = self.min_sample_rate, self.max_sample_rate
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_sample_rate: expected <= max_sample_rate={high}, got {low}")
        return self

    @property
    def out_channels(self) -> int:
        """Channels of a decoded sample."""
        return 1 if self.mono else int(self.channels or 1)


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
    #: Audio decoding; present in audio specs only (then ``decode`` keeps its default).
    audio: AudioDecodeSpec | None = Field(default=None, exclude_if=lambda value: value is None)

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any, info: ValidationInfo) -> Any:
        """Refuse input beyond the limits (:mod:`.limits`) before anything walks it."""
        limits = (info.context or {}).get(LIMITS_CONTEXT) or SpecLimits()
        check_tree(data, limits)
        return data

    @model_validator(mode="after")
    def _one_modality(self) -> PipelineSpec:
        if self.audio is None:
            return self
        if self.decode != DecodeSpec():
            raise ValueError("decode: expected no image decode settings in an audio spec, got some")
        if self.output.layout != "CHW" or self.output.memory_format != "contiguous":
            raise ValueError(
                "output: expected the default layout and memory_format in an audio spec "
                "(audio is (C, T), features (F, T')), got "
                f"{self.output.layout}/{self.output.memory_format}"
            )
        return self

    @property
    def modality(self) -> Literal["image", "audio"]:
        return "image" if self.audio is None else "audio"

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
