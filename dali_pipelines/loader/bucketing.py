"""Length bucketing: batches of samples of similar duration, for variable-length audio.

A batch of audio is padded to its longest sample, so a random batch of a skewed duration
distribution is mostly padding. :class:`LengthBucketOrder` is a drop-in for
:class:`~.order.EpochOrder` (``len``, ``batches(epoch)``, ``samples_per_rank``) that batches
samples of similar duration together.

**Structure, fixed at construction** (never depends on the epoch, so ``len`` is known up front
and resuming at batch ``k`` is slicing):

* *buckets*: the samples sorted by duration (ties by index: a stable sort), cut into
  ``num_buckets`` contiguous ranges of equal count (quantiles; counts differ by at most one).
  At most ``n // batch_size`` buckets: a bucket smaller than a batch only forms partial batches.
* *slots*: each bucket is cut into batches of its batch size, the last one holding the
  remainder. The batch size is ``batch_size``, or with ``max_seconds``
  ``max(1, floor(max_seconds / longest duration in the bucket))`` capped by ``batch_size``: a
  batch's padded duration stays within ``max_seconds`` unless a single sample is longer.
* *equal counts*: ``drop_last=False`` delivers every sample exactly once per epoch over all
  ranks, no padding duplicates. While the slot count is not a multiple of ``world_size`` the
  largest slot is split in two (most samples first; ties: the longer bucket, then the earlier
  slot). That needs ``ceil(slots / world_size) * world_size`` samples at least, else a
  ``LoaderConfigError``. ``drop_last=True`` keeps batches full instead: each bucket's
  remainder sits the epoch out, then one whole batch at a time from the bucket with the most
  batches (the smallest batches: the fewest samples lost; ties: the longer bucket) until the
  count is a multiple of ``world_size`` (possibly 0, as torch's ``drop_last``). Which samples
  sit out is drawn per epoch when shuffling; a bucket smaller than its batch size never runs.
* *steps*: the slots in duration order, ``world_size`` consecutive ones per step; rank ``r``
  runs slot ``r`` of every step, so the ranks of a step run batches of neighbouring durations
  and wait less on each other at DDP's all-reduce.

**Per epoch**, with ``shuffle``: a Philox generator keyed by ``(seed, epoch)`` permutes each
bucket's samples (bucket 0 first; they fill the bucket's slots in order), then the order of the
steps. Its counter starts in domain 2 of :mod:`dali_pipelines.plan.draws`' layout (0: per-sample
draws, 1: batch ops), so the order never shares a stream with an augmentation. Without
``shuffle`` the order is the sorted one and the steps run in order (shortest first).
"""

from __future__ import annotations

import hashlib
import heapq
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from .._model import Float, FrozenModel, Int
from ..errors import LoaderConfigError
from .order import EpochOrder
from .state import EPOCH_LIMIT, check_epoch

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..data.source import SampleSource
    from .config import LoaderConfig

_MASK = (1 << 64) - 1
#: The counter's last word, as plan.draws lays it out: 0 per-sample draws, 1 batch ops.
_ORDER_DOMAIN = 2


class BucketingConfig(FrozenModel):
    """How :class:`LengthBucketOrder` groups samples: bucket count and a duration budget."""

    #: Quantile buckets of the duration-sorted samples (at most ``n // batch_size`` are used).
    num_buckets: Int = Field(default=10, ge=1)
    #: Padded seconds per batch (``len(batch) * longest``); None: ``batch_size`` items always.
    max_seconds: Float | None = Field(default=None, gt=0)


def order_rng(seed: int, epoch: int) -> np.random.Generator:
    """The epoch's order generator: Philox keyed by ``(seed, epoch)``, counter in domain 2."""
    counter = np.array([0, 0, 0, _ORDER_DOMAIN], dtype=np.uint64)
    key = np.array([seed & _MASK, epoch & _MASK], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(counter=counter, key=key))


class LengthBucketOrder:
    """The batches of each epoch on one rank, grouped by duration (see the module docstring)."""

    def __init__(
        self,
        durations: Any,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        config: BucketingConfig | None = None,
    ):
        #: Seconds per sample (a read-only float64 copy).
        self.durations = _check_durations(durations)
        self.batch_size = _check_int("batch_size", batch_size, 1)
        self.shuffle = _check_bool("shuffle", shuffle)
        self.drop_last = _check_bool("drop_last", drop_last)
        self.seed = _check_int("seed", seed, 0, EPOCH_LIMIT)
        self.world_size = _check_int("world_size", world_size, 1)
        self.rank = _check_int("rank", rank, 0, self.world_size, "world_size")
        self.config = BucketingConfig() if config is None else config
        if not isinstance(self.config, BucketingConfig):
            raise LoaderConfigError(
                f"config: expected a BucketingConfig, got {type(self.config).__name__}"
            )
        self.num_samples_total = len(self.durations)
        sorted_order = np.argsort(self.durations, kind="stable")
        count = max(1, min(self.config.num_buckets, self.num_samples_total // self.batch_size))
        self._buckets = np.array_split(sorted_order, count)
        self._sorted = sorted_order
        #: Each bucket's batch size (``batch_size``, or fewer under ``max_seconds``).
        self.bucket_batch_sizes = tuple(
            _bucket_batch_size(float(self.durations[b[-1]]), self.batch_size, self.config)
            for b in self._buckets
        )
        self._starts, self._sizes = self._layout()

    @property
    def num_buckets(self) -> int:
        """Buckets in use: ``num_buckets``, at most ``n // batch_size`` (and at least 1)."""
        return len(self._buckets)

    def __len__(self) -> int:
        """Batches per epoch on every rank; the same for all epochs."""
        return len(self._sizes) // self.world_size

    @property
    def samples_per_rank(self) -> int:
        """Samples this rank delivers per epoch; the same for all epochs."""
        return int(self._sizes[self.rank :: self.world_size].sum())

    @property
    def samples_per_epoch(self) -> int:
        """Samples delivered per epoch over all ranks (all of them unless ``drop_last``)."""
        return int(self._sizes.sum())

    @property
    def fingerprint(self) -> str:
        """What fixes the batches beyond the loader's setup: durations and config, hashed.

        A resume state must match it, as it matches dataset size and batch size: another
        duration list or bucketing config gives other batches at the same position.
        """
        digest = hashlib.sha256(b"length-bucket-order-v1")
        digest.update(self.durations.tobytes())
        digest.update(self.config.model_dump_json().encode())
        return digest.hexdigest()[:16]

    #: The slots depend on the world size: a state resumes at its own world and batch size.
    elastic = False
    #: (epoch, samples consumed after each step over all ranks) of the last epoch asked.
    _consumed: tuple[int, np.ndarray] | None = None

    def resume(self, epoch: int, batch: int, samples: int) -> tuple[list[np.ndarray], int]:
        """The batches of ``epoch`` after this rank's first ``batch``, and ``batch``."""
        del samples  # the same world size: the batch count says it
        return self.batches(epoch)[batch:], batch

    def consumed(self, epoch: int, start: int, base: int, number: int) -> int:
        """Samples of ``epoch`` consumed over all ranks once every rank ran ``number`` batches
        (``start``/``base``: the segment's, unused: a bucketed epoch resumes at a step)."""
        del start, base
        cached = self._consumed
        if cached is None or cached[0] != epoch:  # once an epoch: the loader asks every batch
            per_step = self._sizes.reshape(-1, self.world_size).sum(axis=1)[self._draw(epoch)[1]]
            cached = self._consumed = (epoch, np.concatenate(([0], np.cumsum(per_step))))
        return int(cached[1][number])

    def _draw(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The epoch's samples in bucket-major slot order and its order of steps."""
        epoch = check_epoch(epoch)
        if not self.shuffle:  # a copy: a caller writing into a batch must not change later epochs
            return self._sorted.copy(), np.arange(len(self))
        rng = order_rng(self.seed, epoch)
        filled = np.concatenate([rng.permutation(bucket) for bucket in self._buckets])
        return filled, rng.permutation(len(self))

    def batches(self, epoch: int) -> list[np.ndarray]:
        """The epoch's batches on this rank (sample indices): a pure function of the setup."""
        filled, steps = self._draw(epoch)
        mine = steps * self.world_size + self.rank
        starts, sizes = self._starts[mine].tolist(), self._sizes[mine].tolist()
        return [filled[start : start + size] for start, size in zip(starts, sizes)]

    def _layout(self) -> tuple[np.ndarray, np.ndarray]:
        """Every slot's (start, size) in the bucket-major sample order; a multiple of W."""
        slots: list[list[int]] = []
        for bucket, size in zip(self._buckets, self.bucket_batch_sizes):
            full, rest = divmod(len(bucket), size)
            slots.append([size] * full + ([rest] if rest and not self.drop_last else []))
        total = sum(len(s) for s in slots)
        surplus = total % self.world_size
        if self.drop_last:
            slots = _drop_batches(slots, surplus)
        elif surplus:
            target = total - surplus + self.world_size
            self._check_enough(target)
            slots = _split_batches(slots, target - total)
        starts: list[int] = []
        sizes: list[int] = []
        offset = 0
        for bucket, bucket_slots in zip(self._buckets, slots):
            ends = np.cumsum([0, *bucket_slots])
            starts.extend((offset + ends[:-1]).tolist())
            sizes.extend(bucket_slots)
            offset += len(bucket)
        return np.array(starts, dtype=np.int64), np.array(sizes, dtype=np.int64)

    def _check_enough(self, batches: int) -> None:
        """Refuse a setup that cannot give every rank equal batches without duplicates."""
        n, world = self.num_samples_total, self.world_size
        if n < world:
            raise LoaderConfigError(
                f"durations: expected at least world_size={world} samples (every rank runs a "
                f"batch, no sample twice), got {n}"
            )
        if batches > n:
            raise LoaderConfigError(
                f"durations: expected at least {batches} samples for {batches} batches (a "
                f"multiple of world_size={world}, each within its bucket's batch size), got "
                f"{n}: use drop_last=True, a larger batch_size or a larger max_seconds"
            )


def _bucket_batch_size(longest: float, batch_size: int, config: BucketingConfig) -> int:
    """``batch_size``, or fewer so that ``size * longest <= max_seconds`` (at least 1)."""
    budget = config.max_seconds
    if budget is None or batch_size * longest <= budget:
        return batch_size
    size = max(1, math.floor(budget / longest))
    while size > 1 and size * longest > budget:  # the division may round up to an integer
        size -= 1
    return size


def _split_batches(slots: list[list[int]], count: int) -> list[list[int]]:
    """``slots`` with ``count`` more batches: the largest split in two, one split at a time.

    Largest by samples; ties go to the longer bucket (its batches cost the most), then to the
    earlier slot. The pieces of a slot stay together, largest first. The caller checked that
    there are enough samples, so the largest piece always holds two or more.
    """
    pieces = [[[size] for size in bucket] for bucket in slots]
    heap = [(-size, -k, j) for k, bucket in enumerate(slots) for j, size in enumerate(bucket)]
    heapq.heapify(heap)
    for _ in range(count):
        negative, negative_k, j = heapq.heappop(heap)
        size = -negative
        slot = pieces[-negative_k][j]
        slot.remove(size)
        for half in (size - size // 2, size // 2):
            slot.append(half)
            heapq.heappush(heap, (-half, negative_k, j))
    return [[p for slot in bucket for p in sorted(slot, reverse=True)] for bucket in pieces]


def _drop_batches(slots: list[list[int]], count: int) -> list[list[int]]:
    """``slots`` less ``count`` batches, one at a time from the bucket with the most left.

    The most batches means the smallest (``max_seconds``), so the fewest samples sit out;
    ties go to the longer bucket. Every slot here is full, so which one goes does not matter.
    """
    kept = [list(bucket) for bucket in slots]
    heap = [(-len(bucket), -k) for k, bucket in enumerate(kept) if bucket]
    heapq.heapify(heap)
    for _ in range(count):
        negative, negative_k = heapq.heappop(heap)
        kept[-negative_k].pop()
        if negative + 1 < 0:
            heapq.heappush(heap, (negative + 1, negative_k))
    return kept


def _check_durations(values: Any) -> np.ndarray:
    try:
        durations = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise LoaderConfigError(
            f"durations: expected a 1-D array of seconds, got {type(values).__name__}"
        ) from None
    if durations.ndim != 1 or durations.size == 0:
        raise LoaderConfigError(
            f"durations: expected a non-empty 1-D array of seconds, got shape {durations.shape}"
        )
    bad = np.flatnonzero(~(np.isfinite(durations) & (durations >= 0)))
    if bad.size:
        index = int(bad[0])
        raise LoaderConfigError(
            f"durations[{index}]: expected finite seconds >= 0, got {durations[index]}"
        )
    durations.flags.writeable = False
    return durations


def _check_int(
    name: str, value: Any, low: int, high: int | None = None, high_name: str = ""
) -> int:
    """``value`` as an int in ``[low, high)``; a bool, float or str is refused."""
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if ok and value >= low and (high is None or value < high):
        return int(value)
    bound = f"an int >= {low}"
    if high is not None:
        bound += f" and < {high_name}={high}" if high_name else " and < 2**63"
    raise LoaderConfigError(f"{name}: expected {bound}, got {value!r}")


def _check_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise LoaderConfigError(f"{name}: expected True or False, got {value!r}")


def padding_ratio(durations: Any, batches: list[np.ndarray]) -> float:
    """Padded over real seconds: ``sum(len(b) * max(d[b]) - sum(d[b])) / sum(d[b])``.

    0 when every batch holds equal durations; 0 too for no batches or only silent samples.
    """
    seconds = np.asarray(durations, dtype=np.float64)
    padded = real = 0.0
    for batch in batches:
        if len(batch) == 0:
            continue
        values = seconds[batch]
        total = float(values.sum())
        padded += len(batch) * float(values.max()) - total
        real += total
    return padded / real if real > 0 else 0.0


@dataclass(frozen=True)
class PaddingComparison:
    """One epoch's padding ratio with and without bucketing, all ranks together."""

    bucketed: float
    unbucketed: float
    bucketed_batches: int
    unbucketed_batches: int


def compare_padding(
    durations: Any,
    batch_size: int,
    config: BucketingConfig | None = None,
    *,
    seed: int = 0,
    epoch: int = 0,
    world_size: int = 1,
) -> PaddingComparison:
    """Padding of a shuffled :class:`LengthBucketOrder` against a shuffled :class:`EpochOrder`.

    Both with the same batch size, seed and ranks; every rank's batches of ``epoch`` count.
    """
    bucketed: list[np.ndarray] = []
    plain: list[np.ndarray] = []
    for rank in range(world_size):
        order = LengthBucketOrder(
            durations, batch_size, True, False, seed, rank, world_size, config=config
        )
        bucketed.extend(order.batches(epoch))
        epoch_order = EpochOrder(
            order.num_samples_total, batch_size, True, False, seed, rank, world_size
        )
        plain.extend(epoch_order.batches(epoch))
    return PaddingComparison(
        bucketed=padding_ratio(durations, bucketed),
        unbucketed=padding_ratio(durations, plain),
        bucketed_batches=len(bucketed),
        unbucketed_batches=len(plain),
    )


def make_order(
    dataset: SampleSource, config: LoaderConfig, seed: int, placement: Any
) -> EpochOrder | LengthBucketOrder:
    """The loader's sample order: a permutation (``EpochOrder``), or with ``bucketing`` batches
    of similar durations (``LengthBucketOrder``, from the dataset's ``durations()``)."""
    c = config
    if c.bucketing is None:
        return EpochOrder(
            len(dataset), c.batch_size, c.shuffle, c.drop_last, seed,
            placement.rank, placement.world_size, c.even_batches, c.shuffle_algorithm,
        )  # fmt: skip
    durations = getattr(dataset, "durations", None)
    if not callable(durations):
        raise LoaderConfigError(
            f"bucketing: expected a dataset with durations() (AudioFolder, an audio Manifest "
            f"or WebDataset), got {type(dataset).__name__}"
        )
    return LengthBucketOrder(
        durations(), c.batch_size, c.shuffle, c.drop_last, seed,
        placement.rank, placement.world_size, c.bucketing,
    )  # fmt: skip
