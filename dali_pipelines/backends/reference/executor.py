"""The torch reference executor: PIL (or torchvision.io) decode + each op's torch implementation.

It runs the very parameters DALI receives: every sample is prepared by the shared
:class:`~..feed.SampleFeed` (same bytes, guards and :func:`~dali_pipelines.plan.draws.draw_sample`
draws), decoded, and each step applies ``op.apply_torch(params, image, args)`` with the drawn
args. Batches are therefore a pure function of (seed, epoch, index) whatever the worker count,
and equal DALI's within each op's stated tolerance. torchvision's own transforms stay a test
oracle (tests/ops), not the runtime.

Parallelism is torch's ``DataLoader`` with persistent workers over a batch sampler whose
batches the executor swaps per run; a bad sample or a Python stage failure comes back as data
(workers re-raise exceptions by type, which loses the op and file), and the executor hands it
to the guard or raises :class:`StageFailure` in this process.

Each item carries its stage times (a :class:`~..profile.Tally`: read, probe, draw, python, and
in a worker the item's CPU seconds): a worker's own profile copy would never reach the loader,
so the executor merges them into the loader's profile as the items arrive.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import Dataset, get_worker_info

from ...data.pil import decode_pil
from ...fork_guard import fork_guard
from ...ops.python.stage import StageFailure, failure_record
from ...plan import Plan
from ..assemble import RawBatch, emitted_hwc
from ..feed import BadSample, Prepared, SampleFeed
from ..profile import Tally
from ..runner import Run
from .audio import AudioChain
from .sample import TorchChain

#: "pil": what torchvision users do by default; "tvio": torchvision.io.decode_jpeg (faster).
Decoder = Literal["pil", "tvio"]
#: Per delivered sample its columns; per unusable one a BadSample; a stage failure's record;
#: then the item's stage times (``Tally.sent()``).
Item = tuple[str, Any, Any]


class _Samples(Dataset[Item]):
    def __init__(self, feed: SampleFeed, plan: Plan, decoder: Decoder):
        self.feed = feed
        self.plan = plan
        self.decoder = decoder
        self.color = plan.spec.decode.color
        self.chain = TorchChain(plan, emitted_hwc(plan))
        self.audio = AudioChain(plan) if plan.audio else None

    def __len__(self) -> int:
        return len(self.feed.bound.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Item:
        epoch, index = key
        tally = Tally()
        # In a worker process its CPU time is the item's; in-process it is the loader's own.
        cpu = time.process_time() if get_worker_info() is not None else None
        kind, payload = self._item(epoch, index, tally)
        if cpu is not None:
            tally.cpu_s = time.process_time() - cpu
        return (kind, payload, tally.sent())

    def _item(self, epoch: int, index: int, tally: Tally) -> tuple[str, Any]:
        sample = self.feed.prepare(index, epoch, into=tally)
        if isinstance(sample, BadSample):
            return ("bad", sample)
        if self.audio is not None:
            return self._audio(self.audio, sample)
        images = []
        for column, data in enumerate(sample.encoded):
            if self.feed.bound.encoding(column) == "npy":  # HWC pixels the feed checked
                images.append(torch.from_numpy(np.array(data)).permute(2, 0, 1))
                continue
            try:
                images.append(self._decode(data))
            except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, ...
                path = self.feed.bound.path(index, column)
                reason = f"PIL: {type(exc).__name__}: {exc}"
                return ("bad", BadSample(index, column, path, reason))
        try:
            out = [
                self.chain(image, sample.drawn[c].args, index, tally)
                for c, image in enumerate(images)
            ]
        except StageFailure as failure:
            return ("stage", failure_record(failure))
        return ("ok", _columns(sample, out))

    def _audio(self, chain: AudioChain, sample: Prepared) -> tuple[str, Any]:
        """The audio sample through soundfile, soxr and the ops' references."""
        try:
            out = chain(sample.encoded[0], sample.sizes[0][1], sample.drawn[0].args)
        except Exception as exc:  # libsndfile errors on data whose header looked fine
            path = self.feed.bound.path(sample.index)
            reason = f"soundfile: {type(exc).__name__}: {exc}"
            return ("bad", BadSample(sample.index, 0, path, reason))
        return ("ok", _columns(sample, [out]))

    def _decode(self, data: np.ndarray) -> torch.Tensor:
        if self.decoder == "pil":
            image = np.asarray(decode_pil(data, self.color, max_pixels=self.feed.max_pixels))
            hwc = image[:, :, None] if image.ndim == 2 else image
            return torch.from_numpy(hwc.copy()).permute(2, 0, 1)
        from ...data.tvio import decode_tvio

        return decode_tvio(data, self.color)


def _columns(sample: Prepared, images: list[torch.Tensor]) -> tuple[Any, ...]:
    parts: tuple[Any, ...] = (
        *images,
        *sample.labels,
        *(torch.from_numpy(f) for f in sample.features),
    )
    if sample.boxes is not None:
        parts += (torch.from_numpy(sample.boxes[0]), torch.from_numpy(sample.boxes[1]))
    return (sample.index, parts)


def _collate(items: list[Item]) -> list[Item]:
    return items  # the executor sorts good from bad and the assembler stacks


class _RunBatches:
    """A batch sampler whose batches are swapped per run (persistent workers keep running)."""

    def __init__(self) -> None:
        self.epoch = 0
        self.batches: Sequence[np.ndarray] = ()

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for batch in self.batches:
            yield [(self.epoch, int(i)) for i in batch]

    def __len__(self) -> int:
        return len(self.batches)


class ReferenceExecutor:
    def __init__(self, feed: SampleFeed, plan: Plan, *, num_workers: int, decoder: Decoder):
        self.feed = feed
        self.plan = plan
        self._sampler = _RunBatches()
        self._started = False
        self._loader: TorchDataLoader[Any] | None = TorchDataLoader(
            _Samples(feed, plan, decoder),
            batch_sampler=self._sampler,
            collate_fn=_collate,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
        )

    def run(
        self, epoch: int, batches: Sequence[np.ndarray], following: Run | None = None
    ) -> Iterator[RawBatch]:
        assert self._loader is not None, "closed"
        self._sampler.epoch, self._sampler.batches = epoch, batches
        # Persistent workers fork on the first iter() only; later runs reuse them.
        first = not self._started and self._loader.num_workers > 0
        self._started = True
        if first:
            with fork_guard(freeze=False):
                items = iter(self._loader)
        else:
            items = iter(self._loader)
        for batch in items:
            yield self._raw(epoch, batch)

    def _raw(self, epoch: int, items: list[Item]) -> RawBatch:
        good: list[tuple[Any, ...]] = []
        indices: list[int] = []
        bad: list[BadSample] = []
        profile = self.feed.profile
        for kind, payload, figures in items:
            profile.merge(figures)
            if kind == "bad":
                bad.append(payload)
            elif kind == "stage":
                raise StageFailure.from_record(payload)
            else:
                indices.append(payload[0])
                good.append(payload[1])
        width = self._width()
        columns: list[Any] = [[sample[k] for sample in good] for k in range(width)]
        n_images = len(self.plan.layout.images)
        n_labels = len(self.plan.layout.labels)
        for k in range(n_images, n_images + n_labels):  # labels: one (N,) tensor
            columns[k] = torch.tensor(columns[k], dtype=torch.int64)
        if self.plan.audio:  # the audio convention: the lengths follow the audio column
            lengths = [int(x.shape[-1]) for x in columns[0]]
            columns.insert(1, torch.tensor(lengths, dtype=torch.int64))
        return RawBatch(torch.tensor(indices, dtype=torch.int64), columns, bad)

    def _width(self) -> int:
        layout = self.plan.layout
        boxes = 2 if layout.boxes is not None else 0
        return len(layout.images) + len(layout.labels) + len(layout.features) + boxes

    def decode_failure(self, data: np.ndarray) -> str | None:
        return self.feed.recovery.pil_reason(data)

    def close(self) -> None:
        # End the persistent workers now: left to the garbage collector, torch's iterator is
        # often in a cycle and its workers linger until a collection far later.
        if self._loader is None:
            return
        iterator = getattr(self._loader, "_iterator", None)
        shutdown = getattr(iterator, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
        self._loader = None
