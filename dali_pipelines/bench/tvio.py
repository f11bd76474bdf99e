"""The ``reference-tvio`` baseline: the reference loader, decoding with torchvision.io, not PIL.

A user who tuned their torch pipeline decodes with ``torchvision.io.decode_jpeg`` (libjpeg-turbo
straight into a uint8 CHW tensor) rather than PIL; that is the stronger baseline DALI must beat.
Everything else matches the ``reference`` backend: the same torchvision v2 transforms
(:func:`build_transform` of the same plan), the same batch order (:class:`EpochOrder`), a torch
DataLoader with ``num_workers=threads`` and persistent workers. It lives here, not in
``backends/``, because it exists only to be measured against.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import Dataset

from ..backends.reference.runner import build_transform
from ..data.source import SampleSource
from ..loader.order import EpochOrder
from ..plan import Plan, make_plan
from ..spec import PipelineSpec

_JPEG_MAGIC = b"\xff\xd8\xff"


def decode_tvio(data: np.ndarray, color: str) -> torch.Tensor:
    """Decode encoded bytes to a uint8 CHW tensor, EXIF orientation applied like the PIL path.

    JPEGs go through ``decode_jpeg`` (the point of this baseline); other formats (PNG, ...) fall
    back to ``decode_image`` so a user's mixed folder still runs. Grayscale is libjpeg's luma
    channel (what ``ImageReadMode.GRAY`` gives), within a few levels of PIL's RGB->L.
    """
    from torchvision.io import ImageReadMode, decode_image, decode_jpeg

    # torch refuses to share read-only numpy memory (ImageFolder returns a view of bytes);
    # one copy of a ~40 KiB file is negligible next to decoding it.
    raw = torch.from_numpy(data if data.flags.writeable else data.copy())
    mode = ImageReadMode.RGB if color == "rgb" else ImageReadMode.GRAY
    decode = decode_jpeg if bytes(data[:3]) == _JPEG_MAGIC else decode_image
    with warnings.catch_warnings():
        # torchvision 0.29 deprecates its decoders (for TorchCodec) with a warning per call;
        # they are still what tuned torch pipelines run, which is what this baseline is for.
        warnings.simplefilter("ignore", DeprecationWarning)
        return decode(raw, mode=mode, apply_exif_orientation=True)


class TvioDataset(Dataset[tuple[torch.Tensor, int]]):
    def __init__(self, source: SampleSource, plan: Plan):
        self.source = source
        self.color = plan.spec.decode.color
        self.transform = build_transform(plan)

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = decode_tvio(self.source.read_bytes(index), self.color)
        return self.transform(image).as_subclass(torch.Tensor), self.source.label(index)


class _EpochBatches:
    """A batch sampler whose batches are replaced per epoch (persistent workers keep running)."""

    def __init__(self) -> None:
        self.batches: Sequence[np.ndarray] = ()

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            yield [int(i) for i in batch]

    def __len__(self) -> int:
        return len(self.batches)


class TvioLoader:
    """Batches of ``(images, labels)``; ``len``, ``set_epoch`` and ``close`` like our loader."""

    def __init__(
        self,
        dataset: SampleSource,
        spec: PipelineSpec,
        *,
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
        seed: int,
        num_workers: int,
        device: torch.device | None = None,
    ):
        self.plan = make_plan(spec)
        self.device = device
        self._order = EpochOrder(
            num_samples_total=len(dataset),
            batch_size=batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            seed=seed,
        )
        self._epoch = 0
        self._sampler = _EpochBatches()
        generator = torch.Generator()
        generator.manual_seed(seed)
        self._loader: TorchDataLoader[Any] | None = TorchDataLoader(
            TvioDataset(dataset, self.plan),
            batch_sampler=self._sampler,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            generator=generator,
        )

    def __len__(self) -> int:
        return len(self._order)

    def set_epoch(self, epoch: int) -> None:
        self._epoch = epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self._loader is None:
            raise RuntimeError("TvioLoader: expected an open loader, got a closed one")
        epoch, self._epoch = self._epoch, self._epoch + 1
        self._sampler.batches = self._order.batches(epoch)
        out = self.plan.spec.output
        for images, labels in self._loader:
            # The same output conventions as the reference backend, so the touch (or the
            # training step) does the same work for every loader.
            if out.layout == "HWC":
                images = images.permute(0, 2, 3, 1).contiguous()
            elif out.memory_format == "channels_last":
                images = images.contiguous(memory_format=torch.channels_last)
            if self.device is not None and self.device.type == "cuda":
                images = images.to(self.device, non_blocking=True)
                labels = labels.to(self.device, non_blocking=True)
            yield images, labels.to(torch.int64)

    def close(self) -> None:
        # Dropping the torch DataLoader (and its iterator) ends the persistent workers.
        self._loader = None
