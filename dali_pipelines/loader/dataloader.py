"""``DataLoader``: torch's DataLoader semantics over a DALI (or reference) pipeline.

The loader owns the sample order (:mod:`.order`), so len, drop_last, shuffle with set_epoch,
sharding and resume behave like torch's DataLoader + DistributedSampler whichever backend runs.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import torch

from ..availability import cuda_available, dali_import_error, require_dali
from ..backends.recovery import OnError, Recovery
from ..contracts import BatchContract, CheckMode, ContractChecker, infer_contract
from ..data.columns import BoundSource, bind_source
from ..data.source import SampleSource
from ..errors import DaliPipelinesError, LoaderStateError
from ..plan import Plan, make_plan
from ..plan.placement import Placement, PythonPlacement, place
from ..spec import PipelineSpec, load_spec
from ..spec.io import SpecLike
from .distributed import resolve_placement
from .order import EpochOrder
from .stats import LoaderStats
from .torch_args import torch_arguments

STATE_VERSION = 1
#: PIL's decompression-bomb limit (Image.MAX_IMAGE_PIXELS): larger images fail before decode.
DEFAULT_MAX_PIXELS = 89_478_485
#: "reference-tvio" is the reference backend decoding with torchvision.io instead of PIL.
Backend = Literal["auto", "dali", "reference", "reference-tvio"]
Device = Literal["auto", "cpu", "gpu"]


class _Sampler:
    """``loader.sampler``: what Lightning and timm call ``set_epoch`` on."""

    def __init__(self, loader: DataLoader):
        self._loader = loader

    def set_epoch(self, epoch: int) -> None:
        self._loader.set_epoch(epoch)

    def __len__(self) -> int:
        return self._loader._order.samples_per_rank


class DataLoader:
    """Batches of ``(images, labels)`` like ``torch.utils.data.DataLoader``.

    ``images`` follow the spec's output (layout, dtype, memory format); ``labels`` are int64 of
    shape (N,). ``seed`` fixes both the order and every augmentation: batches are a pure function
    of (seed, epoch, world size), whatever the thread count.

    A spec with a ``source`` section (a ``Manifest``, ``WebDataset`` or ``Coco`` dataset) yields
    a tuple of its outputs in declared order instead: several images, features, labels, boxes;
    ``as_dict=True`` gives a dict by output name (docs/sources.md).

    torch's argument names work too (``DataLoader(dataset, 64, num_workers=4, ...)``): without a
    spec, the dataset's torchvision ``transform`` is translated (``from_torchvision``); see
    :mod:`dali_pipelines.loader.torch_args` for what each torch argument maps to. Python stages
    run inline or in ``python_workers`` processes (default: ``num_workers``, else
    ``num_threads``) as ``python_placement`` decides (docs/hybrid.md).
    """

    def __init__(
        self,
        dataset: SampleSource,
        spec: SpecLike | int | None = None,
        *,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        num_threads: int | None = None,
        device: Device = "auto",
        backend: Backend = "auto",
        pin_memory: bool = False,
        rank: int | None = None,
        world_size: int | None = None,
        even_batches: bool = True,
        prefetch_queue_depth: int = 2,
        check: CheckMode = "first",
        on_error: OnError = "raise",
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        num_workers: int | None = None,
        prefetch_factor: int | None = None,
        persistent_workers: bool | None = None,
        python_placement: PythonPlacement = "auto",
        python_workers: int | None = None,
        batch_ops: Sequence[Any] | None = None,
        as_dict: bool = False,
        **torch_kwargs: Any,
    ):
        if isinstance(spec, int):  # torch's positional batch size: DataLoader(ds, 64)
            batch_size, spec = int(spec), None
        targs = torch_arguments(
            num_workers=num_workers,
            prefetch_factor=prefetch_factor,
            persistent_workers=persistent_workers,
            other=torch_kwargs,
        )
        seed = targs.seed if targs.seed is not None else seed
        num_threads = num_threads if num_threads is not None else targs.num_threads
        prefetch_queue_depth = targs.prefetch_queue_depth or prefetch_queue_depth
        if spec is None:
            from ..translate.torchvision import spec_from_dataset

            spec = spec_from_dataset(dataset)
        self.dataset = dataset
        self.spec: PipelineSpec = load_spec(spec)
        if batch_ops is not None:  # MixUp/CutMix as dicts or torchvision v2 transforms
            from .batch_ops import with_batch_ops

            self.spec = with_batch_ops(self.spec, batch_ops)
        self.plan: Plan = make_plan(self.spec)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.num_threads = num_threads if num_threads is not None else min(4, os.cpu_count() or 1)
        self.placement = resolve_placement(rank, world_size)
        self._order = EpochOrder(
            num_samples_total=len(dataset),
            batch_size=batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            seed=seed,
            rank=self.placement.rank,
            world_size=self.placement.world_size,
            even_batches=even_batches,
        )
        self.backend, self.device = self._choose(backend, device)
        #: Where each op runs (DALI, Python inline or in workers, torch batch): see ``assess``.
        self.ops_placement: Placement = place(self.plan, self.device, python_placement)
        self.python_workers = (
            python_workers
            if python_workers is not None
            else targs.python_workers
            if targs.python_workers is not None
            else self.num_threads
        )
        self.pin_memory = pin_memory and self._pin_ok(pin_memory)
        self.prefetch_queue_depth = prefetch_queue_depth
        self._runner: Any = None
        self._epoch = 0
        self._resume_batch = 0
        # (epoch, batches delivered) of the epoch being iterated; None between epochs.
        self._active: tuple[int, int] | None = None
        self.sampler = _Sampler(self)
        self._check_output_fixed()
        layout = self.plan.layout
        if not layout.classic and (self.ops_placement.mode == "workers" or self.spec.batch_ops):
            raise DaliPipelinesError(
                "spec.source: expected the classic one image + label sample with Python stages "
                "in worker processes or batch_ops, got outputs "
                f"{', '.join(layout.names)} (use python_placement='inline')"
            )
        #: The dataset's readers for the spec's source (a manifest's cells are checked here).
        self.bound: BoundSource = bind_source(dataset, layout)
        #: Batches are tuples in the layout's order, or dicts by output name with ``as_dict``.
        self.as_dict = as_dict
        num_classes = self.bound.num_classes
        #: What every batch is: inferred from the spec before the first batch runs.
        self.contract: BatchContract = infer_contract(
            self.spec,
            device="cuda" if self.device == "gpu" else "cpu",
            num_classes=num_classes,
        )
        self._batch_ops: Any = None
        if self.spec.batch_ops:  # labels become soft: the contract says so before any batch
            from .batch_ops import for_loader

            self._batch_ops, self.contract = for_loader(
                self.spec,
                self.plan,
                self.contract,
                seed=self.seed,
                rank=self.placement.rank,
                num_classes=num_classes,
            )
        self._checker = ContractChecker(self.contract, check=check)
        if on_error not in ("raise", "skip"):
            raise DaliPipelinesError(f"on_error: expected 'raise' or 'skip', got {on_error!r}")
        self.on_error: OnError = on_error
        self.max_pixels = max_pixels
        self._recovery = Recovery(on_error=on_error, color=self.spec.decode.color)
        #: How long the training loop waited on this loader per batch (the stall statistic).
        self.stats = LoaderStats()

    # -- configuration -----------------------------------------------------------------------
    def _choose(self, backend: Backend, device: Device) -> tuple[str, str]:
        if device not in ("auto", "cpu", "gpu"):
            raise DaliPipelinesError(f"device: expected 'auto', 'cpu' or 'gpu', got {device!r}")
        if backend not in ("auto", "dali", "reference", "reference-tvio"):
            raise DaliPipelinesError(
                "backend: expected 'auto', 'dali', 'reference' or 'reference-tvio', "
                f"got {backend!r}"
            )
        if device == "gpu" and not cuda_available():
            raise DaliPipelinesError("device: expected a CUDA device for 'gpu', found none")
        resolved_device = (
            "gpu" if device == "gpu" or (device == "auto" and cuda_available()) else "cpu"
        )
        if backend == "dali":
            require_dali()
        elif backend == "auto":
            reason = dali_import_error()
            if reason is not None:
                warnings.warn(
                    f"DALI cannot be imported ({reason}); falling back to the reference "
                    "backend (torchvision). Install nvidia-dali-cuda120 for DALI.",
                    RuntimeWarning,
                    stacklevel=3,
                )
                backend = "reference"
            else:
                backend = "dali"
        return backend, resolved_device

    def _pin_ok(self, pin_memory: bool) -> bool:
        if pin_memory and not cuda_available():
            warnings.warn(
                "pin_memory=True but no CUDA device is available: pinned memory is not used "
                "(the same as torch's DataLoader)",
                UserWarning,
                stacklevel=3,
            )
            return False
        return True

    def _check_output_fixed(self) -> None:
        out = self.plan.output
        # A source section declares how varying sizes batch (pad or list); the classic cannot.
        if out.fixed_size is None and self.batch_size > 1 and self.plan.layout.classic:
            raise DaliPipelinesError(
                "spec.ops: expected a chain ending in a fixed size (a crop or a (h, w) resize) "
                "to batch images, got a size that varies per sample"
            )

    @property
    def output_device(self) -> torch.device | None:
        if self.device == "gpu":
            return torch.device("cuda", self.placement.local_rank)
        return None

    def _make_runner(self) -> Any:
        if self.backend == "dali":
            from ..backends.dali.graph import GraphOptions
            from ..backends.dali.runner import DaliRunner

            options = GraphOptions(
                batch_size=self.batch_size,
                num_threads=self.num_threads,
                device="gpu" if self.device == "gpu" else "cpu",
                device_id=self.placement.local_rank if self.device == "gpu" else None,
                # DALI's own seed only matters for ops that draw internally; ours draw in Python.
                seed=(self.seed * 1_000_003 + self.placement.rank) % (2**31),
                prefetch_queue_depth=self.prefetch_queue_depth,
                # DALI checks every iteration's outputs against these (cheap, in C++).
                output_dtype=self.contract.tensor(self.plan.layout.images[0].name).dtype,
                output_ndim=self.contract.tensor(self.plan.layout.images[0].name).sample_ndim,
            )
            if self.ops_placement.mode == "workers":
                from ..backends.hybrid.executor import HybridRunner

                return HybridRunner(
                    self.dataset,
                    self.plan,
                    self.ops_placement,
                    options,
                    self.output_device,
                    workers=self.python_workers,
                    recovery=self._recovery,
                    max_pixels=self.max_pixels,
                )
            runner: type[DaliRunner] = DaliRunner
            if self.ops_placement.mode == "inline":  # python_function: frees its pipelines
                from ..backends.hybrid.executor import InlineRunner

                runner = InlineRunner
            return runner(
                self.dataset,
                self.plan,
                options,
                self.output_device,
                recovery=self._recovery,
                max_pixels=self.max_pixels,
                bound=self.bound,
            )
        from ..backends.reference import ReferenceRunner

        return ReferenceRunner(
            self.dataset,
            self.plan,
            num_workers=self.num_threads,
            seed=self.seed,
            pin_memory=self.pin_memory,
            output_device=self.output_device,
            recovery=self._recovery,
            max_pixels=self.max_pixels,
            decoder="tvio" if self.backend == "reference-tvio" else "pil",
            bound=self.bound,
        )

    # -- torch DataLoader surface --------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._order)

    def set_epoch(self, epoch: int) -> None:
        """The epoch of the next iteration; later iterations count up from it."""
        if epoch < 0:
            raise ValueError(f"epoch: expected >= 0, got {epoch}")
        self._epoch = int(epoch)
        self._resume_batch = 0
        self._active = None

    @property
    def epoch(self) -> int:
        """The epoch the next ``iter()`` will run."""
        return self._epoch

    def __iter__(self) -> Iterator[Any]:
        if self._runner is None:
            self._runner = self._make_runner()
        epoch, start = self._epoch, self._resume_batch
        self._epoch, self._resume_batch = epoch + 1, 0
        batches = self._order.batches(epoch)
        self._active = (epoch, start)
        self._checker.start_epoch(epoch)
        prepare = getattr(self.dataset, "prepare_epoch", None)
        if prepare is not None:  # a Python source (EncodedDataset) starts reading ahead now
            prepare(batches, start)
        # A wait is the time from the loop asking for a batch to receiving it (iter() included).
        asked = time.perf_counter()
        names = self.plan.layout.names
        for *values, _indices in self._runner.epoch(epoch, batches, start):
            if self.pin_memory:
                values = [_each(v, _pinned) for v in values]
            if self.output_device is not None:
                values = [_each(v, self._to_output_device) for v in values]
            if self._batch_ops is not None:  # classic layout only: (images, labels)
                values = list(self._batch_ops(*values, epoch, self._active[1]))
            batch: Any = dict(zip(names, values)) if self.as_dict else tuple(values)
            self._checker(batch)
            self._active = (epoch, self._active[1] + 1)
            self.stats.record_wait(time.perf_counter() - asked)
            yield batch
            asked = time.perf_counter()
        self._active = None

    def _to_output_device(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.output_device, non_blocking=True)

    def close(self) -> None:
        """Release DALI's threads and buffers (or the reference workers)."""
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def __enter__(self) -> DataLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # At interpreter shutdown the modules close() needs may be gone already.
        with contextlib.suppress(Exception):
            self.close()

    # -- bad data ------------------------------------------------------------------------------
    @property
    def skipped(self) -> dict[int, list[tuple[str, str]]]:
        """Per epoch, the (path, reason) of every sample skipped with ``on_error="skip"``.

        Quarantined files are listed again in every epoch they were due, so for each epoch
        delivered + skipped == the samples the epoch was to deliver.
        """
        return self._recovery.issues_by_epoch(self._recovery.skipped)

    @property
    def fallbacks(self) -> dict[int, list[tuple[str, str]]]:
        """Per epoch, the files DALI could not decode and PIL could: delivered, not lost."""
        return self._recovery.issues_by_epoch(self._recovery.fallbacks)

    # -- resume --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Where the loader stands, at a batch boundary: the loader's own position.

        Resume needs no DALI checkpoint: order and augmentations are pure functions of
        (seed, epoch, index), so restarting the epoch at batch ``k`` reproduces it exactly.
        """
        if self._active is not None and self._active[1] < len(self):
            epoch, done = self._active  # mid-epoch: resume at the next batch of this epoch
        else:
            epoch, done = self._epoch, self._resume_batch
        return {
            "version": STATE_VERSION,
            "epoch": epoch,
            "batch": done,
            "seed": self.seed,
            "spec": self.spec.fingerprint,
            "dataset_size": len(self.dataset),
            "world_size": self.placement.world_size,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise LoaderStateError(
                f"state.version: expected {STATE_VERSION}, got {state.get('version')!r}"
            )
        mine = self.state_dict()
        for key in (
            "spec",
            "dataset_size",
            "world_size",
            "batch_size",
            "seed",
            "shuffle",
            "drop_last",
        ):
            if state.get(key) != mine[key]:
                raise LoaderStateError(
                    f"state.{key}: expected {mine[key]!r} (this loader), got {state.get(key)!r}"
                )
        self._epoch = int(state["epoch"])
        self._resume_batch = int(state["batch"])
        self._active = None


def _pinned(x: torch.Tensor) -> torch.Tensor:
    return x.pin_memory() if x.device.type == "cpu" else x


def _each(value: Any, move: Any) -> Any:
    """``move`` applied to a tensor, or to every tensor of a list output."""
    return [move(x) for x in value] if isinstance(value, list) else move(value)
