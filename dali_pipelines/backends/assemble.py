"""The one assembler: an executor's raw outputs -> the tensors of the layout's slots.

Every executor emits a :class:`RawBatch` in one convention, so conversion happens here once:

* images in the emitted layout (HWC when the spec says HWC or channels_last, else CHW) and the
  output dtype (float32 standing in for bfloat16, which DALI lacks); a dense batch arrives as one
  tensor (DALI's buffer through DLPack, no copy), samples of varying or unknown size as a list;
* then, in order: the label columns ((N,) int64), the feature columns ((N, D) float32), the
  boxes and their classes (lists of (K, 4) float32 and (K,) int64) when the layout has boxes.

The assembler stacks a list into a batch (the one copy of a dense batch), pads or lists varying
sizes as the layout declares, views HWC memory as NCHW for channels_last, drops the rows of
placeholder samples (index -1) and moves everything to the output device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..ops._dali import torch_dtype
from ..plan import Plan
from ..plan.layout import Slot
from .feed import BadSample

#: A dense batch tensor, or one tensor per sample.
Column = torch.Tensor | list[torch.Tensor]


@dataclass
class RawBatch:
    """What an executor yields: sample indices (-1: placeholder rows), the flat columns, and
    the samples of the batch that could not be used (the runner reports them)."""

    indices: torch.Tensor
    columns: list[Column]
    bad: list[BadSample] = field(default_factory=list)


def emitted_hwc(plan: Plan) -> bool:
    """Whether executors emit images HWC (the spec's layout, or channels_last memory)."""
    out = plan.spec.output
    return out.layout == "HWC" or out.memory_format == "channels_last"


class Assembler:
    def __init__(self, plan: Plan, device: torch.device | None = None):
        self.plan = plan
        self.layout = plan.layout
        out = plan.spec.output
        self.hwc = emitted_hwc(plan)
        self.channels_last = out.memory_format == "channels_last" and out.layout == "CHW"
        self.bfloat16 = out.dtype == "bfloat16"
        self.device = device if device is not None and device.type != "cpu" else None

    def __call__(self, raw: RawBatch) -> tuple[list[Any], torch.Tensor]:
        """The slot values in the layout's order, on the output device, and the indices of the
        delivered samples."""
        values, indices = self.values(raw)
        return self.to_device(values), indices

    def to_device(self, values: list[Any]) -> list[Any]:
        """``values`` on the output device (the loader's profile times it apart: transfer)."""
        if self.device is None:
            return values
        return [_each(v, self._to_device) for v in values]

    def values(self, raw: RawBatch) -> tuple[list[Any], torch.Tensor]:
        """The slot values in the layout's order, still where the executor left them."""
        layout = self.layout
        if layout.audio is not None:
            return self._finish(self._audio(raw.columns), raw.indices)
        columns = raw.columns
        n_images, n_labels = len(layout.images), len(layout.labels)
        at_boxes = n_images + n_labels + len(layout.features)
        boxes = None
        if layout.boxes is not None:
            boxes = (list(columns[at_boxes]), list(columns[at_boxes + 1]))
        varying = varying_outputs(
            layout.slots,
            {c.position: self._samples(columns[c.position]) for c in layout.images if c.varying},
            boxes,
            "HWC" if self.plan.spec.output.layout == "HWC" else "CHW",
        )
        values: list[Any] = []
        for slot in layout.slots:
            if slot.name in varying:
                values.append(varying[slot.name])
            elif slot.kind == "image":
                values.append(self._images(columns[slot.ref]))
            elif slot.kind == "label":
                values.append(_dense(columns[n_images + slot.ref], torch.int64).reshape(-1))
            else:  # features
                width = len(layout.features[slot.ref].columns)
                feats = _dense(columns[n_images + n_labels + slot.ref], torch.float32)
                values.append(feats.reshape(-1, width))
        return self._finish(values, raw.indices)

    def _finish(self, values: list[Any], indices: torch.Tensor) -> tuple[list[Any], torch.Tensor]:
        """Placeholder rows dropped."""
        indices = indices.reshape(-1)
        keep = indices >= 0
        if not bool(keep.all()):
            values = [keep_rows(v, keep) for v in values]
            indices = indices[keep]
        return values, indices

    def _audio(self, columns: list[Column]) -> list[Any]:
        """Audio columns ``[audio, lengths, *labels, *features]`` -> the layout's slot values.

        The audio arrives padded by the executor (DALI's ``fn.pad``) or as per-sample tensors
        (the reference), which are padded here."""
        layout = self.layout
        audio = columns[0]
        lengths = _dense(columns[1], torch.int64).reshape(-1).to(torch.int64)
        policy = layout.images[0].varying
        if policy == "list":
            samples = list(audio)
            batch: Any = [x.to(torch.bfloat16) for x in samples] if self.bfloat16 else samples
        else:
            batch = pad_audio(audio, self.plan.output.rows) if isinstance(audio, list) else audio
            if self.bfloat16:
                batch = batch.to(torch.bfloat16)
        n_labels = len(layout.labels)
        values: list[Any] = []
        for slot in layout.slots:
            if slot.kind == "audio":
                values.append(batch)
            elif slot.kind == "lengths":
                values.append(lengths)
            elif slot.kind == "label":
                values.append(_dense(columns[2 + slot.ref], torch.int64).reshape(-1))
            else:  # features
                width = len(layout.features[slot.ref].columns)
                feats = _dense(columns[2 + n_labels + slot.ref], torch.float32)
                values.append(feats.reshape(-1, width))
        return values

    def _images(self, column: Column) -> torch.Tensor:
        if isinstance(column, list):
            images = torch.stack(column) if column else self._empty()
        else:
            images = column
        if self.bfloat16:
            images = images.to(torch.bfloat16)
        if self.channels_last:  # NHWC memory seen as NCHW: torch's channels_last
            images = images.permute(0, 3, 1, 2)
        return images

    def _samples(self, column: Column) -> list[torch.Tensor]:
        """Per-sample images of a varying column in the spec's layout (CHW views of HWC)."""
        samples = list(column)
        if self.bfloat16:
            samples = [x.to(torch.bfloat16) for x in samples]
        if self.channels_last:
            samples = [x.permute(2, 0, 1) for x in samples]
        return samples

    def _empty(self) -> torch.Tensor:
        """A batch whose samples were all skipped: 0 images with the right trailing shape."""
        out = self.plan.output
        h, w, c = out.height or 0, out.width or 0, out.channels
        shape = (0, h, w, c) if self.hwc else (0, c, h, w)
        dtype = torch.float32 if self.bfloat16 else torch_dtype(out.dtype)
        return torch.empty(shape, dtype=dtype)

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.device, non_blocking=True)


def _dense(column: Column, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(column, list):
        return torch.stack(column).to(dtype) if column else torch.empty((0,), dtype=dtype)
    return column


def _each(value: Any, move: Any) -> Any:
    """``move`` applied to a tensor, or to every tensor of a list output."""
    return [move(x) for x in value] if isinstance(value, list) else move(value)


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


def pad_audio(samples: Sequence[torch.Tensor], rows: int) -> torch.Tensor:
    """Per-sample (R, T_i) audio or features -> (N, R, max T_i), zero-padded at the end."""
    longest = max((int(x.shape[-1]) for x in samples), default=0)
    dtype = samples[0].dtype if samples else torch.float32
    out = torch.zeros((len(samples), rows, longest), dtype=dtype)
    for k, x in enumerate(samples):
        out[k, :, : x.shape[-1]] = x
    return out


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
    """The batch values of the varying slots, by name, from per-sample tensors.

    ``pad``: one tensor padded with zeros to the batch maximum plus the true sizes
    (``<image>_sizes`` (N, 2) as (height, width), ``<boxes>_counts`` (N,)); padded box rows have
    class -1. ``list``: a list of per-sample tensors.
    """
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
