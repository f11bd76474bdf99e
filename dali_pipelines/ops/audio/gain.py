"""gain: multiply a wave by ``10 ** (g / 20)``, g ~ U[min_db, max_db] per sample, with
probability ``p`` (torch-audiomentations' ``Gain``; defaults +-12 dB)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import model_validator

from ..base import Args, DaliContext, OpParams, Size, register_op
from ..state import AudioState
from ._wave import (
    Decibels,
    Probability,
    check_order,
    db_to_factor,
    draw_applied,
    on_device,
    scaled_range,
)
from .base import AudioOp, require_wave

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch


class GainParams(OpParams):
    op: Literal["gain"] = "gain"
    #: Lowest gain in dB.
    min_db: Decibels = -12.0
    #: Highest gain in dB (>= min_db).
    max_db: Decibels = 12.0
    #: Probability of applying the gain to a sample (otherwise the factor is 1).
    p: Probability = 0.5

    @model_validator(mode="after")
    def _ordered(self) -> GainParams:
        check_order("min_db", self.min_db, "max_db", self.max_db)
        return self


@register_op
class Gain(AudioOp[GainParams]):
    name = "gain"
    Params = GainParams
    random = True
    dali_operator = "arithmetic (wave * factor argument input)"
    reference_name = "torch multiply"
    tolerance = "exact (one float32 multiply by the same drawn factor)"

    def infer(self, p: GainParams, state: AudioState) -> AudioState:
        require_wave(state)
        lo, hi = float(db_to_factor(p.min_db)), float(db_to_factor(p.max_db))
        if p.p < 1.0:  # a sample the gain skips keeps factor 1
            lo, hi = min(lo, 1.0), max(hi, 1.0)
        if p.p == 0.0:
            lo = hi = 1.0
        return state.model_copy(update={"value_range": scaled_range(state.value_range, lo, hi)})

    def arg_names(self, p: GainParams) -> tuple[str, ...]:
        return ("factor",)

    def draw_state(
        self, p: GainParams, state: AudioState, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        applied = draw_applied(rng, p.p)
        db = float(rng.uniform(p.min_db, p.max_db))
        return {"factor": db_to_factor(db) if applied else np.array(1.0, np.float32)}, size

    def build_dali(
        self, p: GainParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        # A 0-d input broadcasts over the sample: one float32 multiply per value.
        return image * on_device(args["factor"], ctx.device)

    def reference(
        self, p: GainParams, state: AudioState, x: torch.Tensor, args: Args
    ) -> torch.Tensor:
        import torch

        return x * torch.from_numpy(np.array(args["factor"], dtype=np.float32))
