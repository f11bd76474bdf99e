"""The pydantic base every model of the package derives from: frozen, no unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    """Immutable, strict about unknown keys; hashable so specs can be compared and cached."""

    model_config = ConfigDict(frozen=True, extra="forbid")
