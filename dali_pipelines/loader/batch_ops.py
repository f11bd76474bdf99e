"""The loader's half of the batch ops: seeded per batch, soft labels, the contract they change.

The ops themselves (params, registry, mixing) are spec-level: :mod:`dali_pipelines.ops.batch`.
Each batch's draws come from a generator seeded by (seed, epoch, rank, batch position), so
resume and replays stay exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..errors import SpecError
from ..ops.batch import BatchOpParams, get_batch_op, validate_batch_op
from ..plan.draws import batch_rng


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
        rng = batch_rng(self.seed, epoch, self.rank, position)
        soft = torch.nn.functional.one_hot(labels.long(), self.num_classes).to(torch.float32)
        for p in self.params:
            if rng.random() < p.p:
                images, soft = get_batch_op(p.op).mix(p, images, soft, rng, self.hw)
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
