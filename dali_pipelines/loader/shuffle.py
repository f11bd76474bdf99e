"""Constant-memory global shuffle: a keyed pseudo-random bijection over ``[0, n)``.

``torch.randperm(n)`` materializes the epoch's permutation (8 bytes a sample: 8 GB at 10^9
samples, rebuilt every epoch on every rank). :class:`FeistelPermutation` computes
``position -> sample`` on demand instead, with O(1) state:

* **Domain.** A balanced Feistel network permutes ``[0, 2**(2h))``, the smallest power of two
  with an even number of bits (``h >= 1``) holding ``n``; so the domain is below ``4 n``.
* **Rounds.** :data:`ROUNDS` rounds of ``(L, R) -> (R, L xor F_k(R))``, each ``F_k`` the
  splitmix64 finalizer of ``R xor k_round`` truncated to ``h`` bits: a bijection of the domain
  for any round function, pseudo-random for a good mixer (Luby-Rackoff needs 4 rounds).
* **Cycle walking.** A value outside ``[0, n)`` is permuted again until it lands inside:
  restricting a permutation of the domain this way is a permutation of ``[0, n)`` (each cycle
  of the domain permutation is walked past its out-of-range values). A position costs
  ``domain / n < 4`` network evaluations on average.
* **Key.** The round keys are a pure function of ``(seed, epoch)``: :func:`round_keys` mixes
  ``seed`` and ``epoch`` separately with splitmix64 (unlike ``DistributedSampler``'s
  ``seed + epoch``, seed 0 at epoch 1 and seed 1 at epoch 0 get different permutations), then
  draws one 64-bit key a round. Format version :data:`FEISTEL_VERSION`: a change of the
  construction bumps it, and the loader's order fingerprint with it.

Everything is vectorized in numpy ``uint64`` arithmetic (wrapping multiplication), so a rank's
positions are permuted in chunks: :func:`rank_positions` and :func:`rank_index_chunks` give the
``DistributedSampler``-style split (padding by wrap-around to equal counts, or truncation with
``drop_last``) from positions alone, never materializing ``n`` of anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

#: Rounds of the Feistel network.
ROUNDS = 6
#: Version of the construction (domain, rounds, mixer, key derivation).
FEISTEL_VERSION = 1
#: Default chunk of positions permuted at once (8 MiB of int64).
CHUNK = 1 << 20
#: Largest ``n``: the domain (an even power of two) must fit in 64 bits.
MAX_SIZE = 1 << 62

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def splitmix64(value: int) -> int:
    """The splitmix64 output for state ``value`` (Python ints, wrapped to 64 bits)."""
    z = (value + _GOLDEN) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def round_keys(seed: int, epoch: int, rounds: int = ROUNDS) -> tuple[int, ...]:
    """The round keys of the epoch's permutation: a pure function of ``(seed, epoch)``.

    ``state = splitmix64(splitmix64(seed) xor (epoch + 1) * golden)``, then round ``i``'s key is
    ``splitmix64(state + i * golden)``.
    """
    if seed < 0 or epoch < 0:
        raise ValueError(f"seed, epoch: expected ints >= 0, got {seed}, {epoch}")
    state = splitmix64(splitmix64(seed & _MASK64) ^ (((epoch + 1) * _GOLDEN) & _MASK64))
    return tuple(splitmix64((state + i * _GOLDEN) & _MASK64) for i in range(rounds))


def _mix(values: np.ndarray, key: np.uint64, out: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer of ``values xor key`` into ``out`` (uint64, wrapping)."""
    np.bitwise_xor(values, key, out=out)
    out ^= out >> _S30
    out *= _M1
    out ^= out >> _S27
    out *= _M2
    out ^= out >> _S31
    return out


class FeistelPermutation:
    """A keyed bijection of ``[0, n)``: ``perm[position]`` is the sample at ``position``.

    ``key`` is a sequence of 64-bit round keys (see :func:`round_keys`);
    :meth:`for_epoch` builds one from ``(seed, epoch)``. State: ``n``, the domain's half width
    and the round keys, whatever ``n``.
    """

    __slots__ = ("_half_bits", "_half_mask", "_keys", "domain", "n")

    def __init__(self, n: int, key: tuple[int, ...] | list[int]):
        if not 1 <= n <= MAX_SIZE:
            raise ValueError(f"n: expected 1 <= n <= 2**62, got {n}")
        if len(key) < 1:
            raise ValueError("key: expected at least one round key")
        self.n = int(n)
        bits = max(2, (self.n - 1).bit_length())
        bits += bits % 2
        self._half_bits = np.uint64(bits // 2)
        self._half_mask = np.uint64((1 << (bits // 2)) - 1)
        self.domain = 1 << bits
        self._keys = tuple(np.uint64(k & _MASK64) for k in key)

    @classmethod
    def for_epoch(cls, n: int, seed: int, epoch: int) -> FeistelPermutation:
        """The epoch's permutation of ``[0, n)`` under the loader's seed."""
        return cls(n, round_keys(seed, epoch))

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"FeistelPermutation(n={self.n}, rounds={len(self._keys)})"

    def __getitem__(self, position: int) -> int:
        if not -self.n <= position < self.n:
            raise IndexError(f"position: expected -{self.n} <= position < {self.n}, got {position}")
        value = position % self.n
        return int(self.take(np.array([value], dtype=np.int64))[0])

    def _network(self, values: np.ndarray) -> np.ndarray:
        """One pass of the Feistel network over the domain (uint64 in, uint64 out)."""
        left = values >> self._half_bits
        right = values & self._half_mask
        scratch = np.empty_like(values)
        for key in self._keys:
            _mix(right, key, scratch)
            scratch &= self._half_mask
            scratch ^= left
            left, right, scratch = right, scratch, left
        left <<= self._half_bits
        left |= right
        return left

    def take(self, positions: np.ndarray) -> np.ndarray:
        """The samples at ``positions`` (ints in ``[0, n)``), as int64, computed vectorized."""
        pos = np.asarray(positions)
        if pos.size and (pos.min() < 0 or pos.max() >= self.n):
            raise IndexError(f"positions: expected values in [0, {self.n})")
        values = self._network(pos.astype(np.uint64).reshape(-1))
        limit = np.uint64(self.n)
        outside = np.flatnonzero(values >= limit)
        while outside.size:  # cycle walking: permute again until inside [0, n)
            walked = self._network(values[outside])
            values[outside] = walked
            outside = outside[walked >= limit]
        return values.astype(np.int64).reshape(pos.shape)

    def chunks(
        self, start: int = 0, stop: int | None = None, chunk: int = CHUNK
    ) -> Iterator[np.ndarray]:
        """``perm[start:stop]`` in chunks of at most ``chunk`` samples (bounded memory)."""
        stop = self.n if stop is None else stop
        for begin in range(start, stop, chunk):
            yield self.take(np.arange(begin, min(begin + chunk, stop), dtype=np.int64))


def split_count(
    n: int,
    rank: int,
    world_size: int,
    *,
    drop_last: bool = False,
    even: bool = True,
    start: int = 0,
) -> int:
    """Samples of ``rank`` in the epoch's positions ``start..n``, as
    ``DistributedSampler.num_samples`` for ``start=0`` (``even=False``: ``range(start + rank, n,
    world_size)``, no padding)."""
    remaining = n - start
    if remaining <= 0:
        return 0
    if not even:
        return len(range(start + rank, n, world_size))
    if drop_last:
        return remaining // world_size
    return math.ceil(remaining / world_size)


def rank_positions(
    n: int,
    rank: int,
    world_size: int,
    count: int,
    first: int = 0,
    stop: int | None = None,
    *,
    start: int = 0,
) -> np.ndarray:
    """Epoch positions of this rank's samples ``first:stop`` of ``count`` in the segment that
    begins at global position ``start``: ``start + rank + k world``, wrapped modulo ``n``
    (``DistributedSampler``'s padding by wrap-around, continued past the epoch's end)."""
    stop = count if stop is None else min(stop, count)
    k = np.arange(first, stop, dtype=np.int64)
    positions = start + k * world_size + rank
    if start + count * world_size > n:
        positions %= n
    return positions


def rank_index_chunks(
    perm: FeistelPermutation,
    rank: int,
    world_size: int,
    *,
    drop_last: bool = False,
    even: bool = True,
    chunk: int = CHUNK,
    start: int = 0,
) -> Iterator[np.ndarray]:
    """This rank's sample indices of the epoch from global position ``start`` in delivery
    order, ``chunk`` at a time."""
    count = split_count(perm.n, rank, world_size, drop_last=drop_last, even=even, start=start)
    for first in range(0, count, chunk):
        positions = rank_positions(
            perm.n, rank, world_size, count, first, first + chunk, start=start
        )
        yield perm.take(positions)
