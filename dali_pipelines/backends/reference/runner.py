"""torch ``DataLoader`` over PIL + torchvision v2, driven by the loader's own batch order."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import Dataset

from ...data.pil import decode_pil
from ...data.probe import probe_header
from ...data.source import SampleSource
from ...data.tvio import decode_tvio
from ...errors import PythonStageError, SampleDecodeError
from ...ops._dali import torch_dtype
from ...plan import Plan
from ..recovery import Recovery


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


#: "pil": what torchvision users do by default; "tvio": torchvision.io.decode_jpeg (faster).
Decoder = Literal["pil", "tvio"]
Item = tuple[torch.Tensor | None, int, int, str | None]


class _PlanDataset(Dataset[Item]):
    """PIL decode + v2 transforms; a bad sample comes back as (None, label, index, reason)."""

    def __init__(
        self, source: SampleSource, plan: Plan, max_pixels: int | None, decoder: Decoder = "pil"
    ):
        self.source = source
        self.decoder = decoder
        self.color = plan.spec.decode.color
        self.transform = build_transform(plan)
        self.max_pixels = max_pixels

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> Item:
        label = self.source.label(index)
        try:
            data = self.source.read_bytes(index)
            if len(data) == 0:
                return None, label, index, "empty file"
            if self.max_pixels is not None:
                header = probe_header(data)
                if header.pixels > self.max_pixels:
                    reason = (
                        f"too many pixels: {header.width}x{header.height} = {header.pixels} "
                        f"> max_pixels={self.max_pixels}"
                    )
                    return None, label, index, reason
            image = (
                decode_pil(data, self.color)
                if self.decoder == "pil"
                else decode_tvio(data, self.color)
            )
        except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, ...
            return None, label, index, f"PIL: {type(exc).__name__}: {exc}"
        try:
            out = self.transform(image)
        except PythonStageError as exc:  # a Python stage: name the sample and its file
            path = self.source.path(index)
            message = str(exc).replace("on a sample", f"on sample {index} ({path})", 1)
            raise PythonStageError(message, op=exc.op, index=index, path=path) from exc.__cause__
        return out.as_subclass(torch.Tensor), label, index, None


def _collate(
    items: list[Item],
) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor, list[tuple[int, str]]]:
    good = [item for item in items if item[3] is None]
    bad = [(item[2], item[3]) for item in items if item[3] is not None]
    images = torch.stack([item[0] for item in good]) if good else None  # type: ignore[misc]
    labels = torch.tensor([item[1] for item in good], dtype=torch.int64)
    indices = torch.tensor([item[2] for item in good], dtype=torch.int64)
    return images, labels, indices, bad  # type: ignore[return-value]


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
        recovery: Recovery | None = None,
        max_pixels: int | None = None,
        decoder: Decoder = "pil",
    ):
        self.plan = plan
        self.dataset = dataset
        self.recovery = recovery if recovery is not None else Recovery(color=plan.spec.decode.color)
        self.output_device = output_device
        self._sampler = _EpochBatches()
        self._started = False
        generator = torch.Generator()
        generator.manual_seed(seed)
        self._loader = TorchDataLoader(
            _PlanDataset(dataset, plan, max_pixels, decoder),
            batch_sampler=self._sampler,
            collate_fn=_collate,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            pin_memory=pin_memory,
            prefetch_factor=prefetch_factor if num_workers > 0 else None,
            generator=generator,
        )

    def epoch(
        self, epoch: int, batches: Sequence[np.ndarray], start_batch: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        self._sampler.batches = [self._unquarantined(b, epoch) for b in batches[start_batch:]]
        spec = self.plan.spec.output
        # Persistent workers fork on the first iter() only; later epochs reuse them.
        first = not self._started and self._loader.num_workers > 0
        self._started = True
        batches_iter = _fork_safe_iter(self._loader) if first else iter(self._loader)
        for maybe_images, labels, indices, bad in batches_iter:
            for index, reason in bad:
                path = self.dataset.path(index)
                if self.recovery.on_error == "raise":
                    raise SampleDecodeError(
                        f"sample {index} ({path}): {reason}", path=path, index=index
                    )
                self.recovery.skip(epoch, index, path, reason)
            images = maybe_images if maybe_images is not None else self._empty()
            if spec.layout == "HWC":
                images = images.permute(0, 2, 3, 1).contiguous()
            elif spec.memory_format == "channels_last":
                images = images.contiguous(memory_format=torch.channels_last)
            if self.output_device is not None and self.output_device.type == "cuda":
                images = images.to(self.output_device, non_blocking=True)
                labels = labels.to(self.output_device, non_blocking=True)
            yield images, labels.to(torch.int64), indices

    def _unquarantined(self, batch: np.ndarray, epoch: int) -> np.ndarray:
        """Quarantined samples are reported again but not decoded again (as on DALI)."""
        keep = []
        for raw in batch:
            index = int(raw)
            if index in self.recovery.quarantine:
                path = self.dataset.path(index)
                self.recovery.skip(epoch, index, path, self.recovery.quarantine[index])
            else:
                keep.append(index)
        return np.array(keep, dtype=np.int64)

    def _empty(self) -> torch.Tensor:
        """A batch whose samples were all skipped: 0 images, the right trailing shape."""
        out = self.plan.output
        shape = (0, out.channels, out.height or 0, out.width or 0)
        return torch.empty(shape, dtype=torch_dtype(out.dtype))

    def close(self) -> None:
        # End the persistent workers now: left to the garbage collector, torch's iterator is
        # often in a cycle and its workers linger until a collection far later.
        iterator = getattr(self._loader, "_iterator", None)
        shutdown = getattr(iterator, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
        self._loader = None  # type: ignore[assignment]


def _fork_safe_iter(loader: TorchDataLoader[Any]) -> Iterator[Any]:
    """``iter(loader)``, forking its workers with no collectable garbage left in this process.

    A DALI pipeline that the garbage collector finalizes inside a forked child hangs forever
    (DALI's executor destructor waits for threads the child does not have). Pipelines in
    reference cycles (a python_function, an exception traceback) can still be garbage when
    the workers fork, so collect it here first. (``gc.freeze`` as well made every worker's
    shutdown wait out torch's 5 s join timeout.)
    """
    gc.collect()
    return iter(loader)
