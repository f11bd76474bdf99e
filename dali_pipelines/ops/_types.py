"""Bounded number types for op params: a spec can never ask for a value DALI would overflow on.

Sizes and paddings stop at 65,536 px (far above any real image, far below DALI's int32 limits);
factors stop at 1,000 and angles at 360 degrees, beyond which float math in the per-sample draw
overflows. Non-finite floats are rejected for every model by ``FrozenModel``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_PIXELS_PER_SIDE = 1 << 16

#: A positive pixel count (sizes, kernel sizes).
Pixels = Annotated[int, Field(gt=0, le=MAX_PIXELS_PER_SIDE)]
#: A non-negative pixel count (paddings).
PadPixels = Annotated[int, Field(ge=0, le=MAX_PIXELS_PER_SIDE)]
#: A multiplicative jitter factor or range bound.
Factor = Annotated[float, Field(ge=0.0, le=1000.0)]
#: An angle in degrees; HalfRange is the d of a symmetric range [-d, d].
Degrees = Annotated[float, Field(ge=-360.0, le=360.0)]
#: A positive ratio or fraction bound (crop scale/aspect ratio).
Ratio = Annotated[float, Field(ge=1e-3, le=1e3)]
HalfRange = Annotated[float, Field(ge=0.0, le=360.0)]
