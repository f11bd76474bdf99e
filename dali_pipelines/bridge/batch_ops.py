"""Batch-level ops (MixUp, CutMix): registered torch ops on the loader's output, on its device.

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
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field, PositiveFloat, PositiveInt

from .._model import FrozenModel
from ..errors import RegistryError, SpecError


class BatchOpParams(FrozenModel):
    """Base of every batch op's params; subclasses narrow ``op`` to a ``Literal``."""

    op: str
    #: Number of classes of the one-hot labels (default: the dataset's ``classes``).
    num_classes: PositiveInt | None = None
    #: Probability that a batch is mixed at all.
    p: float = Field(default=1.0, ge=0.0, le=1.0)


class BatchOp(ABC):
    """Subclasses set ``name``/``Params`` and implement :meth:`mix` (images already float)."""

    name: ClassVar[str]
    Params: ClassVar[type[BatchOpParams]]

    @abstractmethod
    def mix(
        self, p: Any, images: torch.Tensor, soft: torch.Tensor, rng: np.random.Generator, hw: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
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
    alpha: PositiveFloat = 1.0


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
    alpha: PositiveFloat = 1.0


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
    mixup_alpha: PositiveFloat = 1.0
    cutmix_alpha: PositiveFloat = 1.0
    #: Probability of CutMix for a batch (else MixUp): torchvision's RandomChoice recipe.
    switch_prob: float = Field(default=0.5, ge=0.0, le=1.0)


@register_batch_op
class CutMixOrMixUp(BatchOp):
    name = "cutmix_or_mixup"
    Params = CutMixOrMixUpParams

    def mix(self, p: Any, images: Any, soft: Any, rng: Any, hw: Any) -> tuple[Any, Any]:
        if rng.random() < p.switch_prob:
            return cutmix(images, soft, _beta(rng, p.cutmix_alpha), rng, hw)
        return MixUp().mix(MixUpParams(alpha=p.mixup_alpha), images, soft, rng, hw)


class BatchOps:
    """The spec's batch ops, ready for the loader: ``ops(images, labels, epoch, position)``."""

    def __init__(
        self,
        params: Sequence[BatchOpParams],
        *,
        seed: int,
        rank: int,
        num_classes: int | None,
        layout: str,
    ):
        self.params = tuple(params)
        self.seed, self.rank = seed, rank
        classes = {p.num_classes for p in self.params if p.num_classes is not None}
        if len(classes) > 1:
            raise SpecError(f"batch_ops.num_classes: expected one value, got {sorted(classes)}")
        chosen = classes.pop() if classes else num_classes
        if chosen is None:
            raise SpecError(
                "batch_ops.num_classes: expected a number (or a dataset with classes), got None"
            )
        self.num_classes: int = chosen
        self.hw = (1, 2) if layout == "HWC" else (2, 3)

    def __call__(
        self, images: torch.Tensor, labels: torch.Tensor, epoch: int, position: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng((self.seed, epoch, self.rank, position))
        soft = torch.nn.functional.one_hot(labels.long(), self.num_classes).to(torch.float32)
        for p in self.params:
            if rng.random() < p.p:
                images, soft = _BATCH_OPS[p.op].mix(p, images, soft, rng, self.hw)
        return images, soft


def from_torchvision_batch(transform: Any) -> list[dict[str, Any]]:
    """torchvision v2 MixUp / CutMix / RandomChoice([CutMix, MixUp]) as batch-op dicts."""
    name = type(transform).__name__
    if name in ("MixUp", "CutMix"):
        op = {"op": name.lower(), "alpha": float(transform.alpha)}
        return [{**op, "num_classes": transform.num_classes}]
    if name == "RandomChoice":
        kinds = [type(t).__name__ for t in transform.transforms]
        if sorted(kinds) == ["CutMix", "MixUp"]:
            cut = transform.transforms[kinds.index("CutMix")]
            mix = transform.transforms[kinds.index("MixUp")]
            probs = transform.p or [1.0, 1.0]
            switch = probs[kinds.index("CutMix")] / sum(probs)
            return [
                {
                    "op": "cutmix_or_mixup",
                    "cutmix_alpha": float(cut.alpha),
                    "mixup_alpha": float(mix.alpha),
                    "switch_prob": switch,
                    "num_classes": cut.num_classes,
                }
            ]
    raise SpecError(
        f"batch_ops: expected MixUp, CutMix, RandomChoice([CutMix, MixUp]) or a spec dict, "
        f"got {name}"
    )


def batch_op_dicts(values: Sequence[Any]) -> list[Any]:
    """``batch_ops=`` as the loader takes it: dicts, params, or torchvision transforms."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, dict | BatchOpParams):
            out.append(value)
        else:
            out += from_torchvision_batch(value)
    return out


def registered_batch_ops() -> dict[str, BatchOp]:
    return dict(_BATCH_OPS)


BatchFn = Callable[[torch.Tensor, torch.Tensor, int, int], tuple[torch.Tensor, torch.Tensor]]


def with_batch_ops(spec: Any, values: Sequence[Any]) -> Any:
    """``spec`` with ``batch_ops`` replaced by ``values`` (dicts, params, torchvision)."""
    ops = tuple(validate_batch_op(v) for v in batch_op_dicts(values))
    return spec.model_copy(update={"batch_ops": ops})


def for_loader(
    spec: Any, plan: Any, contract: Any, *, seed: int, rank: int, num_classes: int | None
) -> tuple[BatchOps, Any]:
    """The loader's batch ops and its contract with soft labels (float32, (N, K), [0, 1])."""
    from ..contracts.model import Dim

    if plan.output.dtype == "uint8":
        raise SpecError(
            "batch_ops: expected a float output (normalize or output.dtype float32), got uint8: "
            "mixing uint8 images would round every pixel"
        )
    ops = BatchOps(
        spec.batch_ops, seed=seed, rank=rank, num_classes=num_classes, layout=spec.output.layout
    )
    labels = contract.tensor("labels")
    soft = labels.model_copy(
        update={
            "dims": (labels.dims[0], Dim.fixed(ops.num_classes, "K")),
            "dtype": "float32",
            "layout": None,
            "value_range": (0.0, 1.0),
        }
    )
    tensors = tuple(soft if t.name == "labels" else t for t in contract.tensors)
    return ops, contract.model_copy(update={"tensors": tensors})
