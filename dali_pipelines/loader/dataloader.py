"""``DataLoader``: torch's DataLoader semantics over a DALI (or reference) pipeline.

The loader owns the sample order (:mod:`.order`), so len, drop_last, shuffle with set_epoch,
sharding and resume behave like torch's DataLoader + DistributedSampler whichever backend runs.
Its arguments are validated first, as one :class:`~.config.LoaderConfig`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from typing import Any

import torch

from ..availability import cuda_available, dali_import_error, install_hint, require_dali
from ..backends.profile import Profile
from ..backends.recovery import OnError, Recovery
from ..backends.runner import Runner
from ..contracts import BatchContract, CheckMode, ContractChecker, infer_contract
from ..data.columns import BoundSource, bind_source
from ..data.folder import as_sample_source
from ..data.source import SampleSource
from ..errors import DaliPipelinesError, LoaderConfigError
from ..plan import Plan, make_plan
from ..plan.placement import Placement, PythonPlacement, place
from ..spec import PipelineSpec
from ..spec.io import SpecLike
from .autotune import AutoTuner
from .bucketing import make_order
from .config import (
    DEFAULT_MAX_PIXELS,
    Backend,
    LoaderConfig,
    ProfileMode,
    configure_tuned,
    default_seed,
)
from .distributed import resolve_placement
from .iteration import Iterations, LoaderIterator, epoch_batches
from .order import ShuffleAlgorithm
from .runners import RunSettings, make_runner
from .state import STATE_VERSION, Position, Sampler, check_epoch, check_state, make_state
from .stats import LoaderStats
from .torch_args import loader_spec
from .tuning import signature_defaults

__all__ = ["DEFAULT_MAX_PIXELS", "STATE_VERSION", "Backend", "DataLoader"]


class DataLoader:
    """Batches of ``(images, labels)`` like ``torch.utils.data.DataLoader``.

    ``images`` follow the spec's output (layout, dtype, memory format); ``labels`` are int64 of
    shape (N,). ``seed`` fixes both the order and every augmentation: batches are a pure function
    of (seed, epoch, world size), whatever the thread count. Without a seed one is drawn from
    torch's default generator, as torch's ``RandomSampler`` does (``torch.manual_seed`` makes
    runs reproducible); on several ranks it is 0, ``DistributedSampler``'s default.

    A spec with a ``source`` section (a ``Manifest``, ``WebDataset`` or ``Coco`` dataset) yields
    a tuple of its outputs in declared order instead: several images, features, labels, boxes;
    ``as_dict=True`` gives a dict by output name (docs/sources.md).

    torch's argument names work too (``DataLoader(dataset, 64, num_workers=4, ...)``), and a
    torchvision ``ImageFolder``/``DatasetFolder`` is read as it is: without a spec, the
    dataset's torchvision ``transform`` is translated (``from_torchvision``); see
    :mod:`dali_pipelines.loader.torch_args` for what each torch argument maps to. ``device``
    takes torch's spellings (``"cuda"``, ``"cuda:1"``, a ``torch.device``). Python stages run
    inline or in ``python_workers`` processes (default: ``num_workers``, else ``num_threads``)
    as ``python_placement`` decides (docs/hybrid.md); ``timeout`` (seconds, 0: none) bounds
    the wait for a batch from those workers, as torch's does.

    ``loader.profile`` (:class:`~dali_pipelines.backends.profile.Profile`) counts where the
    time goes per stage: ``profile.epochs[epoch]``, ``profile.current_epoch()``,
    ``profile.recent()`` (the last batches); ``loader.stats.stages()`` is the epoch in progress
    or the last one. ``profile="detailed"`` also keeps spans (a Chrome trace) and opens
    ``torch.profiler`` ranges ``dali_pipelines.<stage>`` (docs/observability.md).

    One iteration at a time (:mod:`.iteration`): a new ``iter(loader)`` ends the previous
    iterator, which then raises ``DaliPipelinesError`` if advanced; ``iter()`` from a second
    thread while another thread's iteration is unfinished raises ``DaliPipelinesError``.
    """

    _runner: Runner | None
    # Where the epoch being iterated stands; None between epochs (and after its last batch).
    _active: Position | None
    # Where the next iteration starts.
    _next: Position
    # The resume position came from load_state_dict: set_epoch of its epoch keeps it.
    _restored: bool

    def __init__(
        self,
        dataset: SampleSource | Any,
        spec: SpecLike | int | None = None,
        *,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        num_threads: int | None = None,
        device: str | int | torch.device = "auto",
        backend: Backend = "auto",
        pin_memory: bool = False,
        rank: int | None = None,
        world_size: int | None = None,
        even_batches: bool = True,
        prefetch_queue_depth: int | None = None,
        check: CheckMode = "first",
        on_error: OnError = "raise",
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        num_workers: int | None = None,
        prefetch_factor: int | None = None,
        persistent_workers: bool | None = None,
        python_placement: PythonPlacement = "auto",
        python_workers: int | None = None,
        timeout: float = 0,
        batch_ops: Sequence[Any] | None = None,
        as_dict: bool = False,
        bucketing: Any = None,
        shuffle_algorithm: ShuffleAlgorithm = "randperm",
        config: Any = None,
        autotune: bool = False,
        cpu_budget: float = 1.0,
        profile: ProfileMode = "counters",
        **torch_kwargs: Any,
    ):
        # config: a tuned file (dali-pipelines tune) or dict; explicit arguments win over it.
        c, spec, self.tuned = configure_tuned(locals(), signature_defaults(DataLoader.__init__))
        self._adopt(c)
        self.dataset: SampleSource = as_sample_source(dataset)
        self.spec: PipelineSpec = loader_spec(self.dataset, spec, c.batch_ops)
        if self.tuned is not None:  # a warning when it was measured on another spec
            self.tuned.check_spec(self.spec.fingerprint)
        self.plan: Plan = make_plan(self.spec)
        self.placement = resolve_placement(c.rank, c.world_size)
        self.seed: int = default_seed(self.placement.world_size) if c.seed is None else c.seed
        self.backend, self.device = self._choose(c.backend, c.device)
        #: The CUDA device index batches arrive on (None on the CPU).
        self.device_index = self._gpu_index(c.device_index)
        #: Where each op runs (DALI, Python inline or in workers, torch batch): see ``assess``.
        self.ops_placement: Placement = place(self.plan, self.device, c.python_placement)
        self.pin_memory = c.pin_memory and self._pin_ok(c.pin_memory)
        self._runner, self._next, self._active = None, Position(0), None
        self._restored = False
        self._iterations = Iterations()
        self.sampler = Sampler(self)
        self._check_layout()
        #: The dataset's readers for the spec's source (a manifest's cells are checked here).
        self.bound: BoundSource = bind_source(self.dataset, self.plan.layout)
        # After binding: an audio manifest knows its durations once bound to the spec's columns.
        self._order = make_order(self.dataset, c, self.seed, self.placement)
        self._make_contract(c.check)
        self._recovery = Recovery(on_error=c.on_error, color=self.spec.decode.color)
        #: Where the loader's time goes, per stage, per epoch and over the last batches.
        self.profile = Profile(detailed=c.profile == "detailed")
        #: How long the training loop waited on this loader per batch (the stall statistic);
        #: ``stats.stages()``: the profile of the epoch in progress or the last one.
        self.stats = LoaderStats(profile=self.profile)
        #: With ``autotune=True``: adjusts read-ahead and Python workers between batches.
        self.autotuner = AutoTuner(c.cpu_budget) if c.autotune else None

    # -- configuration -----------------------------------------------------------------------
    def _adopt(self, config: LoaderConfig) -> None:
        #: Every argument validated, torch's names mapped to ours (``seed`` None: drawn).
        self.config = c = config
        self.batch_size, self.shuffle, self.drop_last = c.batch_size, c.shuffle, c.drop_last
        self.num_threads, self.python_workers = c.num_threads, c.python_workers
        self.prefetch_queue_depth, self.max_pixels = c.prefetch_queue_depth, c.max_pixels
        self.on_error: OnError = c.on_error
        #: Batches are tuples in the layout's order, or dicts by output name with ``as_dict``.
        self.as_dict = c.as_dict

    def _choose(self, backend: Backend, device: str) -> tuple[str, str]:
        """(backend, "cpu" or "gpu") for the config's backend and normalized device."""
        kind = device.split(":")[0]
        if kind == "gpu" and not cuda_available():
            raise LoaderConfigError(f"device: expected a CUDA device for {device!r}, found none")
        resolved_device = "gpu" if kind == "gpu" or (kind == "auto" and cuda_available()) else "cpu"
        if backend == "dali":
            require_dali()
        elif backend == "auto":
            reason = dali_import_error()
            if reason is not None:
                warnings.warn(
                    f"DALI cannot be imported ({reason}); falling back to the reference "
                    "backend (each op in torch on the same per-sample draws: deterministic and "
                    "resumable, the same batches as DALI within each op's tolerance, see "
                    f"docs/operators.md; slower). For DALI: {install_hint()}.",
                    RuntimeWarning,
                    stacklevel=3,
                )
                backend = "reference"
            else:
                backend = "dali"
        return backend, resolved_device

    def _gpu_index(self, index: int | None) -> int | None:
        """``gpu:N``'s N, else the local rank's GPU (torchrun's LOCAL_RANK); None on the CPU."""
        if self.device != "gpu":
            return None
        if index is None:
            return self.placement.local_rank
        count = torch.cuda.device_count()
        if index >= count:
            raise LoaderConfigError(
                f"device: expected a CUDA device index < {count}, got {self.config.device!r}"
            )
        return index

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

    def _check_layout(self) -> None:
        out, layout = self.plan.output, self.plan.layout
        if self.plan.audio and self.spec.batch_ops:
            raise DaliPipelinesError(
                "spec.batch_ops: expected none in an audio spec (MixUp/CutMix mix images), got "
                f"{len(self.spec.batch_ops)}"
            )
        # A source section declares how varying sizes batch (pad or list); the classic cannot.
        # Audio always batches varying lengths (padded with their lengths, or as a list).
        if (
            not self.plan.audio
            and out.fixed_size is None
            and self.batch_size > 1
            and layout.classic
        ):
            raise DaliPipelinesError(
                "spec.ops: expected a chain ending in a fixed size (a crop or a (h, w) resize) "
                "to batch images, got a size that varies per sample"
            )
        if not layout.classic and (self.ops_placement.mode == "workers" or self.spec.batch_ops):
            raise DaliPipelinesError(
                "spec.source: expected the classic one image + label sample with Python stages "
                "in worker processes or batch_ops, got outputs "
                f"{', '.join(layout.names)} (use python_placement='inline')"
            )

    def _make_contract(self, check: CheckMode) -> None:
        num_classes = self.bound.num_classes
        #: What every batch is: inferred from the spec before the first batch runs.
        self.contract: BatchContract = infer_contract(
            self.spec, device="cuda" if self.device == "gpu" else "cpu", num_classes=num_classes
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

    @property
    def output_device(self) -> torch.device | None:
        return None if self.device_index is None else torch.device("cuda", self.device_index)

    def _make_runner(self) -> Runner:
        settings = RunSettings(
            backend=self.backend,
            batch_size=self.batch_size,
            num_threads=self.num_threads,
            prefetch_queue_depth=self.prefetch_queue_depth,
            seed=self.seed,
            rank=self.placement.rank,
            local_rank=self.device_index or 0,  # the GPU batches arrive on (gpu=True)
            gpu=self.device == "gpu",
            max_pixels=self.max_pixels,
            python_workers=self.python_workers,
            pin_memory=self.pin_memory,
            timeout=self.config.timeout,
        )
        return make_runner(
            settings, self.plan, self.bound, self._recovery, self.ops_placement, self.profile
        )

    # -- torch DataLoader surface --------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._order)

    def set_epoch(self, epoch: int) -> None:
        """The epoch of the next iteration; later iterations count up from it.

        After ``load_state_dict`` the epoch the state is in keeps its resume position (Lightning
        restores the state, then calls ``set_epoch`` for that same epoch); another epoch starts
        at its first batch. ``epoch`` must be an int >= 0 (``LoaderStateError``).
        """
        epoch = check_epoch(epoch)
        if not (self._restored and epoch == self._next.epoch):
            self._next, self._restored = Position(epoch), False
        self._active = None

    @property
    def epoch(self) -> int:
        """The epoch the next ``iter()`` will run."""
        return self._next.epoch

    def __iter__(self) -> LoaderIterator:
        if self.autotuner is not None:  # the same batches, timed between them
            tuner = self.autotuner
            return self._iterations.start(
                lambda: tuner.wrap(epoch_batches(self), lambda: self._runner), len(self)
            )
        return self._iterations.start(lambda: epoch_batches(self), len(self))

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
        """Where the loader stands, at a batch boundary: epoch, this rank's batches and the
        samples consumed over all ranks (:mod:`.state`).

        Resume needs no DALI checkpoint: order and augmentations are pure functions of
        (seed, epoch, index), so restarting the epoch where it stopped reproduces it exactly.
        """
        position = self._active if self._active is not None else self._next
        return make_state(position, self._setup())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume at ``state``'s position on the next iteration (``state_dict()``'s output).

        The state is validated (``LoaderStateError`` naming the field): a strict model, the
        same setup as this loader (the world size and batch size may differ: the rest of the
        epoch is split over this loader's ranks, see :mod:`.state`), ``0 <= batch <=
        len(loader)`` at the saved shape (``len``: the epoch is done, the next one starts).
        """
        drawn = self.config.seed is None
        self._next = check_state(state, self._setup(), self._order, seed_drawn=drawn)
        self._restored, self._active = True, None

    def _setup(self) -> dict[str, Any]:
        """What a state must match to resume this loader."""
        return {
            "seed": self.seed,
            "spec": self.spec.fingerprint,
            "dataset_size": len(self.dataset),
            "world_size": self.placement.world_size,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "order": getattr(self._order, "fingerprint", None),
        }
