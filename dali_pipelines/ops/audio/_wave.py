"""Pieces the wave ops share: bounded param types, range checks, the apply-with-probability
draw, value ranges, and the reference's window cut (fn.slice with zero padding)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from pydantic import Field

from ..._model import Float

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

#: A probability of applying an op to a sample.
Probability = Annotated[Float, Field(ge=0.0, le=1.0)]
#: A level change or signal-to-noise ratio in dB: +-120 dB is a factor of 1e6, far beyond any
#: augmentation, far below float32 overflow on a wave in [-1, 1].
Decibels = Annotated[Float, Field(ge=-120.0, le=120.0)]
#: A duration in seconds: positive, at most one hour (3600 s at 192 kHz fits int32 sample
#: counts with room to spare).
MAX_SECONDS = 3600.0
Seconds = Annotated[Float, Field(gt=0.0, le=MAX_SECONDS)]


def check_order(lo_name: str, lo: float, hi_name: str, hi: float) -> None:
    """Raise ``ValueError("hi: expected >= lo (x), got y")`` unless ``lo <= hi``."""
    if hi < lo:
        raise ValueError(f"{hi_name}: expected >= {lo_name} ({lo:g}), got {hi:g}")


def draw_applied(rng: np.random.Generator, p: float) -> bool:
    """Whether the op applies to this sample: a U[0, 1) draw below ``p`` (torchvision's rule).

    Callers draw their parameters whether or not the op applies, so the generator advances by
    the same amount either way and a later op's draws do not depend on this one's coin.
    """
    return bool(rng.random() < p)


def db_to_factor(db: float) -> np.ndarray:
    """``10 ** (db / 20)`` as the float32 scalar both DALI and the reference multiply by."""
    return np.array(10.0 ** (db / 20.0), dtype=np.float32)


def scaled_range(
    value_range: tuple[float, float] | None, lo: float, hi: float
) -> tuple[float, float] | None:
    """The values ``x * f`` takes for x in ``value_range`` and f in [lo, hi] (lo >= 0)."""
    if value_range is None:
        return None
    a, b = value_range
    products = (a * lo, a * hi, b * lo, b * hi)
    return (min(products), max(products))


def on_device(node: Any, device: str) -> Any:
    """A per-sample data input (fed on the CPU) moved to where the op runs: DALI arithmetic
    and positional inputs take their operands from one device."""
    return node.gpu() if device == "gpu" else node


def with_zero(value_range: tuple[float, float] | None) -> tuple[float, float] | None:
    """``value_range`` widened to hold 0 (zero padding)."""
    if value_range is None:
        return None
    return (min(value_range[0], 0.0), max(value_range[1], 0.0))


def window(x: torch.Tensor, start: int, length: int) -> torch.Tensor:
    """Samples ``[start, start + length)`` of a (C, T) wave, zeros where that lies outside
    (what ``fn.slice`` with ``out_of_bounds_policy="pad"`` cuts)."""
    import torch.nn.functional as F

    samples = int(x.shape[-1])
    first, last = min(samples, max(0, start)), min(samples, max(0, start + length))
    kept = x[:, first : max(first, last)]
    before = min(length, max(0, -start))
    return F.pad(kept, (before, length - before - int(kept.shape[-1])))
