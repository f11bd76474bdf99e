"""Batch-level ops (MixUp, CutMix): registered ops on the loader's output, on its device.

This module is the spec-level half and imports no torch (spec loading stays torch-free): the
params models, the registry and the mixing code, which only calls tensor methods. The loader's
half (seeded per batch, soft labels, contract) is :mod:`dali_pipelines.loader.batch_ops`.

A spec lists them under ``batch_ops``; each is registered by name (:func:`register_batch_op`)
with a params model. They run after the per-sample pipeline, on the batch the loader yields,
and change its contract: labels become float32 soft targets of shape (N, num_classes) (what
``CrossEntropyLoss`` takes as probabilities), and the images must be float. Each batch's draws
come from a generator seeded by (seed, epoch, rank, batch position), so resume and replays
stay exact. Mixing follows torchvision v2's MixUp and CutMix: a sample is mixed with the next
one in the batch (``roll(1)``), with ``lam ~ Beta(alpha, alpha)``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from .._model import Float, FrozenModel, Int
from ..errors import RegistryError
from ._types import Positive

#: The most classes a batch op's soft labels may have: they are (N, num_classes) float32, so a
#: typo like ``num_classes: 1000000000`` must not allocate terabytes. Raise it in code if needed.
MAX_NUM_CLASSES = 1 << 20


class BatchOpParams(FrozenModel):
    """Base of every batch op's params; subclasses narrow ``op`` to a ``Literal``."""

    op: str
    #: Number of classes of the one-hot labels (default: the dataset's ``classes``).
    num_classes: Annotated[Int, Field(gt=0, le=MAX_NUM_CLASSES)] | None = None
    #: Probability that a batch is mixed at all.
    p: Float = Field(default=1.0, ge=0.0, le=1.0)


class BatchOp(ABC):
    """Subclasses set ``name``/``Params`` and implement :meth:`mix` (images already float)."""

    name: ClassVar[str]
    Params: ClassVar[type[BatchOpParams]]

    @abstractmethod
    def mix(
        self, p: Any, images: Any, soft: Any, rng: np.random.Generator, hw: Any
    ) -> tuple[Any, Any]:
        """Mix a batch of float images and their soft labels; returns both."""


_BATCH_OPS: dict[str, BatchOp] = {}


def register_batch_op(cls: type[BatchOp]) -> type[BatchOp]:
    """Class decorator: register one instance under ``cls.name`` (its ``Params.op``)."""
    if cls.name in _BATCH_OPS:
        raise RegistryError(f"batch op {cls.name!r} is already registered")
    _BATCH_OPS[cls.name] = cls()
    return cls


def validate_batch_op(value: Any) -> BatchOpParams:
    """A dict (or params) -> the registered op's params model; an unknown name is an error."""
    if isinstance(value, BatchOpParams):
        return value
    if not isinstance(value, dict) or "op" not in value:
        raise ValueError(f"expected a mapping with an 'op' key, got {value!r}")
    op = _BATCH_OPS.get(value["op"])
    if op is None:
        known = ", ".join(sorted(_BATCH_OPS))
        raise ValueError(f"op: expected one of {known}, got {value['op']!r}")
    return op.Params.model_validate(value)


def _beta(rng: np.random.Generator, alpha: float) -> float:
    return float(rng.beta(alpha, alpha))


class MixUpParams(BatchOpParams):
    op: Literal["mixup"] = "mixup"
    #: Beta(alpha, alpha) draws the mixing weight (torchvision's default 1.0).
    alpha: Positive = 1.0


@register_batch_op
class MixUp(BatchOp):
    name = "mixup"
    Params = MixUpParams

    def mix(self, p: Any, images: Any, soft: Any, rng: Any, hw: Any) -> tuple[Any, Any]:
        lam = _beta(rng, p.alpha)
        images = images.mul(lam).add_(images.roll(1, 0), alpha=1.0 - lam)
        return images, soft.mul(lam).add_(soft.roll(1, 0), alpha=1.0 - lam)


class CutMixParams(BatchOpParams):
    op: Literal["cutmix"] = "cutmix"
    alpha: Positive = 1.0


def cutmix(images: Any, soft: Any, lam: float, rng: Any, hw: tuple[int, int]) -> tuple[Any, Any]:
    """torchvision's CutMix box: centred at a uniform pixel, sides sqrt(1 - lam) of the image's,
    clipped; the label weight is the area actually kept."""
    h_axis, w_axis = hw
    height, width = images.shape[h_axis], images.shape[w_axis]
    cy, cx = int(rng.integers(0, height)), int(rng.integers(0, width))
    r = 0.5 * math.sqrt(1.0 - lam)
    half_w, half_h = int(r * width), int(r * height)
    x1, x2 = max(cx - half_w, 0), min(cx + half_w, width)
    y1, y2 = max(cy - half_h, 0), min(cy + half_h, height)
    out = images.clone()
    index: list[Any] = [slice(None)] * images.ndim
    index[h_axis], index[w_axis] = slice(y1, y2), slice(x1, x2)
    out[tuple(index)] = images.roll(1, 0)[tuple(index)]
    kept = 1.0 - (x2 - x1) * (y2 - y1) / (width * height)
    return out, soft.mul(kept).add_(soft.roll(1, 0), alpha=1.0 - kept)


@register_batch_op
class CutMix(BatchOp):
    name = "cutmix"
    Params = CutMixParams

    def mix(self, p: Any, images: Any, soft: Any, rng: Any, hw: Any) -> tuple[Any, Any]:
        return cutmix(images, soft, _beta(rng, p.alpha), rng, hw)


class CutMixOrMixUpParams(BatchOpParams):
    op: Literal["cutmix_or_mixup"] = "cutmix_or_mixup"
    mixup_alpha: Positive = 1.0
    cutmix_alpha: Positive = 1.0
    #: Probability of CutMix for a batch (else MixUp): torchvision's RandomChoice recipe.
    switch_prob: Float = Field(default=0.5, ge=0.0, le=1.0)


@register_batch_op
class CutMixOrMixUp(BatchOp):
    name = "cutmix_or_mixup"
    Params = CutMixOrMixUpParams

    def mix(self, p: Any, images: Any, soft: Any, rng: Any, hw: Any) -> tuple[Any, Any]:
        if rng.random() < p.switch_prob:
            return cutmix(images, soft, _beta(rng, p.cutmix_alpha), rng, hw)
        return MixUp().mix(MixUpParams(alpha=p.mixup_alpha), images, soft, rng, hw)


def registered_batch_ops() -> dict[str, BatchOp]:
    return dict(_BATCH_OPS)


def get_batch_op(name: str) -> BatchOp:
    """The registered batch op ``name`` (a :class:`RegistryError` when there is none)."""
    try:
        return _BATCH_OPS[name]
    except KeyError:
        known = sorted(_BATCH_OPS)
        raise RegistryError(f"batch op: expected one of {known}, got {name!r}") from None
