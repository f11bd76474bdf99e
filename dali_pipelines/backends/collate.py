"""Outputs whose size varies per sample, batched as the layout declares (both backends).

``pad``: one tensor padded with zeros to the batch maximum plus the true sizes (``<image>_sizes``
(N, 2) as (height, width), ``<boxes>_counts`` (N,)); padded box rows have class -1. ``list``: a
list of per-sample tensors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..plan.layout import Slot


def pad_images(samples: Sequence[torch.Tensor], layout: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample CHW or HWC images -> (N, ...) zero-padded at the bottom/right, and (N, 2)."""
    h_axis = 1 if layout == "CHW" else 0
    sizes = torch.tensor(
        [[int(x.shape[h_axis]), int(x.shape[h_axis + 1])] for x in samples], dtype=torch.int64
    ).reshape(-1, 2)
    if not samples:
        return torch.empty((0, 0, 0, 0)), sizes
    first = samples[0]
    height, width = (int(v) for v in sizes.max(dim=0).values)
    shape = (first.shape[0], height, width) if layout == "CHW" else (height, width, first.shape[2])
    out = torch.zeros((len(samples), *shape), dtype=first.dtype, device=first.device)
    for k, x in enumerate(samples):
        if layout == "CHW":
            out[k, :, : x.shape[1], : x.shape[2]] = x
        else:
            out[k, : x.shape[0], : x.shape[1]] = x
    return out, sizes


def pad_boxes(
    boxes: Sequence[torch.Tensor], labels: Sequence[torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sample (K_i, 4) boxes and (K_i,) classes -> (N, K, 4), (N, K) with -1, counts (N,)."""
    counts = torch.tensor([len(b) for b in boxes], dtype=torch.int64)
    most = int(counts.max()) if len(counts) else 0
    out = torch.zeros((len(boxes), most, 4), dtype=torch.float32)
    classes = torch.full((len(boxes), most), -1, dtype=torch.int64)
    for k, (b, c) in enumerate(zip(boxes, labels)):
        out[k, : len(b)] = b
        classes[k, : len(c)] = c
    return out, classes, counts


def varying_outputs(
    slots: Sequence[Slot],
    images: Mapping[int, Sequence[torch.Tensor]],
    boxes: tuple[Sequence[torch.Tensor], Sequence[torch.Tensor]] | None,
    layout: str,
) -> dict[str, Any]:
    """The batch values of the varying slots, by name, from per-sample tensors."""
    out: dict[str, Any] = {}
    for slot in slots:
        if slot.kind == "image" and slot.varying is not None:
            samples = images[slot.ref]
            if slot.varying == "list":
                out[slot.name] = list(samples)
            else:
                out[slot.name], out[f"{slot.name}_sizes"] = pad_images(samples, layout)
        elif slot.kind == "boxes" and boxes is not None:
            if slot.varying == "list":
                out[slot.name], out[f"{slot.name}_labels"] = list(boxes[0]), list(boxes[1])
            else:
                padded = pad_boxes(*boxes)
                out[slot.name], out[f"{slot.name}_labels"], out[f"{slot.name}_counts"] = padded
    return out


def keep_rows(value: Any, keep: torch.Tensor) -> Any:
    """``value`` without the rows where ``keep`` is False (a tensor or a list of tensors)."""
    if isinstance(value, torch.Tensor):
        return value[keep.to(value.device)]
    return type(value)(x for x, k in zip(value, keep.tolist()) if k)
