"""The pydantic base every model of the package derives from: frozen, no unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    """Immutable, strict about unknown keys; hashable so specs can be compared and cached."""

    # allow_inf_nan=False: an inf or NaN parameter can only crash a per-sample draw later.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
