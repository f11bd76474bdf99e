"""torch ``DataLoader`` over PIL + torchvision v2, driven by the loader's own batch order."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import Dataset

from ...data.columns import BoundSource, bind_source
from ...data.pil import decode_pil
from ...data.probe import probe_header
from ...data.source import SampleSource
from ...data.tvio import decode_tvio
from ...errors import PythonStageError, SampleDecodeError
from ...ops._dali import torch_dtype
from ...plan import Plan
from ..collate import varying_outputs
from ..recovery import Recovery
from .sample import SampleTransform, build_transform

__all__ = ["ReferenceRunner", "build_transform"]


#: "pil": what torchvision users do by default; "tvio": torchvision.io.decode_jpeg (faster).
Decoder = Literal["pil", "tvio"]
#: (images per column, labels, features, boxes and box classes) or None, index, why it is bad.
Item = tuple[tuple[Any, ...] | None, int, str | None]


class _PlanDataset(Dataset[Item]):
    """PIL decode + v2 transforms; a bad sample comes back as (None, index, reason)."""

    def __init__(
        self,
        source: SampleSource,
        plan: Plan,
        max_pixels: int | None,
        decoder: Decoder = "pil",
        bound: BoundSource | None = None,
    ):
        self.source = source
        self.bound = bound if bound is not None else bind_source(source, plan.layout)
        self.decoder = decoder
        self.color = plan.spec.decode.color
        self.transform = SampleTransform(plan)
        self.max_pixels = max_pixels

    def __len__(self) -> int:
        return len(self.source)

    def _decode(self, data: np.ndarray) -> tuple[Any, str | None]:
        if len(data) == 0:
            return None, "empty file"
        if self.max_pixels is not None:
            header = probe_header(data)
            if header.pixels > self.max_pixels:
                reason = (
                    f"too many pixels: {header.width}x{header.height} = {header.pixels} "
                    f"> max_pixels={self.max_pixels}"
                )
                return None, reason
        if self.decoder == "pil":
            return decode_pil(data, self.color), None
        return decode_tvio(data, self.color), None

    def __getitem__(self, index: int) -> Item:
        bound = self.bound
        images = []
        for read in bound.images:
            try:
                image, reason = self._decode(read(index))
            except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, ...
                image, reason = None, f"PIL: {type(exc).__name__}: {exc}"
            if reason is not None:
                return None, index, reason
            images.append(image)
        labels = tuple(read_label(index) for read_label in bound.labels)
        features = tuple(torch.from_numpy(np.array(f(index), np.float32)) for f in bound.features)
        xyxy, classes = bound.boxes(index) if bound.boxes is not None else (None, None)
        try:
            out, moved = self.transform(images, xyxy)
        except PythonStageError as exc:  # a Python stage: name the sample and its file
            path = bound.path(index)
            message = str(exc).replace("on a sample", f"on sample {index} ({path})", 1)
            raise PythonStageError(message, op=exc.op, index=index, path=path) from exc.__cause__
        parts: tuple[Any, ...] = (*(x.as_subclass(torch.Tensor) for x in out), *labels, *features)
        if moved is not None:
            boxes = moved.as_subclass(torch.Tensor).to(torch.float32).reshape(-1, 4)
            parts += (boxes, torch.as_tensor(classes, dtype=torch.int64))
        return parts, index, None


def _collate(items: list[Item]) -> tuple[list[tuple[Any, ...]], torch.Tensor, list[Any]]:
    good = [item[0] for item in items if item[2] is None]
    bad = [(item[1], item[2]) for item in items if item[2] is not None]
    indices = torch.tensor([item[1] for item in items if item[2] is None], dtype=torch.int64)
    # Columns of per-sample values; the runner stacks or pads them as the layout says.
    return [tuple(column) for column in zip(*good)], indices, bad


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
        bound: BoundSource | None = None,
    ):
        self.plan = plan
        self.dataset = dataset
        self.bound = bound if bound is not None else bind_source(dataset, plan.layout)
        self.recovery = recovery if recovery is not None else Recovery(color=plan.spec.decode.color)
        self.output_device = output_device
        self._sampler = _EpochBatches()
        self._started = False
        generator = torch.Generator()
        generator.manual_seed(seed)
        self._loader = TorchDataLoader(
            _PlanDataset(dataset, plan, max_pixels, decoder, self.bound),
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
    ) -> Iterator[tuple[Any, ...]]:
        self._sampler.batches = [self._unquarantined(b, epoch) for b in batches[start_batch:]]
        # Persistent workers fork on the first iter() only; later epochs reuse them.
        first = not self._started and self._loader.num_workers > 0
        self._started = True
        batches_iter = _fork_safe_iter(self._loader) if first else iter(self._loader)
        for columns, indices, bad in batches_iter:
            for index, reason in bad:
                path = self.bound.path(index)
                if self.recovery.on_error == "raise":
                    raise SampleDecodeError(
                        f"sample {index} ({path}): {reason}", path=path, index=index
                    )
                self.recovery.skip(epoch, index, path, reason)
            yield (*self._assemble(columns, len(indices)), indices)

    def _assemble(self, columns: list[tuple[Any, ...]], count: int) -> list[Any]:
        """Per-sample columns -> the layout's slots: stacked, padded or listed as declared."""
        layout = self.plan.layout
        spec = self.plan.spec.output
        n_images, n_labels = len(layout.images), len(layout.labels)
        images = [self._layout_images(list(columns[c]) if count else []) for c in range(n_images)]
        boxes = None
        if layout.boxes is not None:
            at = n_images + n_labels + len(layout.features)
            boxes = (list(columns[at]), list(columns[at + 1])) if count else ([], [])
        layout_name = "HWC" if spec.layout == "HWC" else "CHW"
        varying = varying_outputs(layout.slots, dict(enumerate(images)), boxes, layout_name)
        values: list[Any] = []
        for slot in layout.slots:
            if slot.name in varying:
                value = varying[slot.name]
            elif slot.kind == "image":
                value = self._stack(images[slot.ref])
            elif slot.kind == "label":
                labels = columns[n_images + slot.ref] if count else ()
                value = torch.tensor(labels, dtype=torch.int64)
            else:  # features
                width = len(layout.features[slot.ref].columns)
                feats = columns[n_images + n_labels + slot.ref] if count else ()
                value = torch.stack(feats) if count else torch.empty((0, width))
            values.append(self._to_device(value))
        return values

    def _layout_images(self, samples: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.plan.spec.output.layout == "HWC":
            return [x.permute(1, 2, 0).contiguous() for x in samples]
        return samples

    def _stack(self, samples: list[torch.Tensor]) -> torch.Tensor:
        spec = self.plan.spec.output
        if samples:
            images = torch.stack(samples)
        else:
            images = self._empty()
            images = images.permute(0, 2, 3, 1) if spec.layout == "HWC" else images
        if spec.layout == "CHW" and spec.memory_format == "channels_last":
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    def _to_device(self, value: Any) -> Any:
        device = self.output_device
        if device is None or device.type != "cuda":
            return value
        if isinstance(value, list):
            return [x.to(device, non_blocking=True) for x in value]
        return value.to(device, non_blocking=True)

    def _unquarantined(self, batch: np.ndarray, epoch: int) -> np.ndarray:
        """Quarantined samples are reported again but not decoded again (as on DALI)."""
        keep = []
        for raw in batch:
            index = int(raw)
            if index in self.recovery.quarantine:
                path = self.bound.path(index)
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
