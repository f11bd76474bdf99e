"""Train mode: a forward/backward step per batch, and the ideal ceiling it is compared with.

Loader mode says how fast a loader can go; train mode says how much of it a training job sees.
Each batch goes through one SGD step of a small model (the *touch* of the timing loop), and the
*ideal* is the same steps on batches captured once and replayed from memory: a loader reaching
the ideal never makes the step wait. On a CPU the loader's workers also compete with the step for
cores, which is exactly what a CPU training job lives with.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from ..spec import PipelineSpec

MODELS = ("tiny", "resnet18", "resnet50")
#: Memory the ideal may hold in cached batches (they are replayed round-robin).
CACHE_BYTES = 512 * 2**20
MAX_CACHED_BATCHES = 16


def resolve_model(name: str, device: str) -> str:
    """``auto``: a tiny CNN on the CPU (a resnet step would hide any loader), resnet18 on GPU."""
    if name == "auto":
        return "resnet18" if device == "gpu" else "tiny"
    if name not in MODELS:
        raise ValueError(f"model: expected one of auto, {', '.join(MODELS)}, got {name!r}")
    return name


def tiny_cnn(in_channels: int, classes: int) -> nn.Module:
    """~6 M multiply-adds per 224 px image forward: cheap enough that the loader matters on a
    CPU, real enough (convolutions, a reduction, a classifier) to read the whole batch."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, kernel_size=4, stride=4),
        nn.ReLU(inplace=True),
        nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, classes),
    )


def build_model(name: str, in_channels: int, classes: int) -> nn.Module:
    if name == "tiny":
        return tiny_cnn(in_channels, classes)
    import torchvision.models

    factory = getattr(torchvision.models, name)
    return factory(weights=None, num_classes=classes)


class TrainStep:
    """Callable on a batch: one SGD step, then a sync (``loss.item()``) so the time is charged
    to the batch that caused it and waits measured afterwards are the loader's alone."""

    def __init__(self, model_name: str, spec: PipelineSpec, classes: int, device: torch.device):
        self.device = device
        self.layout = spec.output.layout
        self.in_channels = spec.decode.channels
        # resnets take 3 channels; grayscale specs are repeated to 3 (a view, no copy).
        model_channels = self.in_channels if model_name == "tiny" else 3
        self.repeat_channels = model_channels != self.in_channels
        self.classes = max(1, classes)
        self.model = build_model(model_name, model_channels, self.classes).to(device)
        self.model.train()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.parameters = sum(p.numel() for p in self.model.parameters())
        self.steps = 0

    def prepare(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = batch[0], batch[1]
        images = images.to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True).reshape(-1).long()
        if self.layout == "HWC":
            images = images.permute(0, 3, 1, 2)
        if not images.is_floating_point():
            images = images.float().div_(255)
        if self.repeat_channels:
            images = images.expand(-1, 3, -1, -1)
        return images, labels.remainder(self.classes)

    def __call__(self, batch: Any) -> int:
        images, labels = self.prepare(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(self.model(images), labels)
        loss.backward()
        self.optimizer.step()
        loss.item()
        self.steps += 1
        return int(images.shape[0])


class ReplayBatches:
    """The ideal loader: batches already in memory (on the step's device), handed out instantly.

    An epoch has the same number and sizes of batches as the captured loader's, cycling over the
    cached ones, so the ideal does exactly the training work of a real epoch.
    """

    def __init__(self, cached: list[tuple[torch.Tensor, torch.Tensor]], sizes: list[int]):
        if not cached or not sizes:
            raise ValueError("ReplayBatches: expected cached batches and sizes, got none")
        self.cached, self.sizes = cached, sizes

    def __len__(self) -> int:
        return len(self.sizes)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for i, size in enumerate(self.sizes):
            images, labels = self.cached[i % len(self.cached)]
            yield images[:size], labels[:size]


class BatchCache:
    """A touch for one untimed epoch of a loader: keeps copies of its first batches (within
    ``max_bytes``) on ``device`` and records every batch's size; ``replay()`` is the ideal."""

    def __init__(self, device: torch.device, *, max_bytes: int = CACHE_BYTES):
        self.device, self.max_bytes = device, max_bytes
        self.cached: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.sizes: list[int] = []
        self._held = 0

    def __call__(self, batch: Any) -> int:
        images, labels = batch[0], batch[1]
        self.sizes.append(int(images.shape[0]))
        nbytes = images.element_size() * images.numel()
        fits = not self.cached or self._held + nbytes <= self.max_bytes
        # Only full batches: a short one (the epoch's last) cannot stand in for a full one.
        full = not self.cached or images.shape[0] == self.cached[0][0].shape[0]
        if len(self.cached) < MAX_CACHED_BATCHES and fits and full:
            # Copies: a loader may reuse its output buffers for the next batch.
            self.cached.append(
                (images.to(self.device, copy=True), labels.to(self.device, copy=True))
            )
            self._held += nbytes
        return self.sizes[-1]

    def replay(self) -> ReplayBatches:
        return ReplayBatches(self.cached, self.sizes)
