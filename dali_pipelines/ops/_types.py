"""Bounded number types for op params: a spec can never ask for a value DALI would overflow on.

Sizes and paddings stop at 65,536 px (far above any real image, far below DALI's int32 limits);
factors stop at 1,000 and angles at 360 degrees, beyond which float math in the per-sample draw
overflows. Non-finite floats are rejected for every model by ``FrozenModel``. Every type is
strict (:mod:`dali_pipelines._model`): ``true`` or ``"8"`` is refused, never read as a number.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Gt
from pydantic import Field

from .._model import Bool, Float, Int

__all__ = [
    "MAX_PIXELS_PER_SIDE",
    "Bool",
    "Degrees",
    "Factor",
    "Float",
    "HalfRange",
    "Int",
    "PadPixels",
    "Pixels",
    "Positive",
    "Ratio",
]

MAX_PIXELS_PER_SIDE = 1 << 16

#: A positive pixel count (sizes, kernel sizes).
Pixels = Annotated[Int, Field(gt=0, le=MAX_PIXELS_PER_SIDE)]
#: A non-negative pixel count (paddings).
PadPixels = Annotated[Int, Field(ge=0, le=MAX_PIXELS_PER_SIDE)]
#: A multiplicative jitter factor or range bound.
Factor = Annotated[Float, Field(ge=0.0, le=1000.0)]
#: An angle in degrees; HalfRange is the d of a symmetric range [-d, d].
Degrees = Annotated[Float, Field(ge=-360.0, le=360.0)]
#: A positive ratio or fraction bound (crop scale/aspect ratio).
Ratio = Annotated[Float, Field(ge=1e-3, le=1e3)]
HalfRange = Annotated[Float, Field(ge=0.0, le=360.0)]
#: A positive float (a sigma, a MixUp alpha).
Positive = Annotated[Float, Gt(0)]
