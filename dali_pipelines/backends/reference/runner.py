"""torch ``DataLoader`` over PIL + torchvision v2, driven by the loader's own batch order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import Dataset

from ...data.pil import decode_pil
from ...data.source import SampleSource
from ...ops._dali import torch_dtype
from ...plan import Plan


def build_transform(plan: Plan) -> Any:
    """The torchvision v2 ``Compose`` doing the plan's work, output dtype conversion included."""
    from torchvision.transforms import v2

    transforms: list[Any] = [v2.ToImage()]
    transforms += [step.op.torchvision(step.params) for step in plan.steps]
    out = plan.spec.output.dtype
    if out != plan.final.dtype:
        # uint8 -> float scales to [0, 1]; float -> uint8 scales back; float -> float casts.
        transforms.append(v2.ToDtype(torch_dtype(out), scale=True))
    return v2.Compose(transforms)


class _PlanDataset(Dataset[tuple[torch.Tensor, int, int]]):
    def __init__(self, source: SampleSource, plan: Plan):
        self.source = source
        self.color = plan.spec.decode.color
        self.transform = build_transform(plan)

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        image = decode_pil(self.source.read_bytes(index), self.color)
        return self.transform(image).as_subclass(torch.Tensor), self.source.label(index), index


class _EpochBatches:
    """A batch sampler whose batches are swapped per epoch (persistent workers keep running)."""

    def __init__(self) -> None:
        self.batches: Sequence[np.ndarray] = ()

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            yield [int(i) for i in batch]

    def __len__(self) -> int:
        return len(self.batches)


class ReferenceRunner:
    """Same interface as the DALI runner: ``epoch()`` yields (images, labels, indices)."""

    def __init__(
        self,
        dataset: SampleSource,
        plan: Plan,
        *,
        num_workers: int,
        seed: int,
        pin_memory: bool = False,
        prefetch_factor: int | None = None,
        output_device: torch.device | None = None,
    ):
        self.plan = plan
        self.output_device = output_device
        self._sampler = _EpochBatches()
        generator = torch.Generator()
        generator.manual_seed(seed)
        self._loader = TorchDataLoader(
            _PlanDataset(dataset, plan),
            batch_sampler=self._sampler,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            pin_memory=pin_memory,
            prefetch_factor=prefetch_factor if num_workers > 0 else None,
            generator=generator,
        )

    def epoch(
        self, epoch: int, batches: Sequence[np.ndarray], start_batch: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        self._sampler.batches = batches[start_batch:]
        spec = self.plan.spec.output
        for images, labels, indices in self._loader:
            if spec.layout == "HWC":
                images = images.permute(0, 2, 3, 1).contiguous()
            elif spec.memory_format == "channels_last":
                images = images.contiguous(memory_format=torch.channels_last)
            if self.output_device is not None and self.output_device.type == "cuda":
                images = images.to(self.output_device, non_blocking=True)
                labels = labels.to(self.output_device, non_blocking=True)
            yield images, labels.to(torch.int64), indices

    def close(self) -> None:
        # Dropping the iterator ends persistent workers.
        self._loader = None  # type: ignore[assignment]
