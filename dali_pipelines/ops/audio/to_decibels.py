"""to_decibels: ``multiplier * log10(max(x / reference, 10 ** (cutoff_db / multiplier)))`` of
a spectrogram or mel features; with ``reference="max"`` each sample's own maximum is 0 dB and
``cutoff_db`` is librosa's ``-top_db``.

DALI's formula (``fn.to_decibels``), measured: a silent sample with ``reference="max"`` (its
maximum is 0) is ``cutoff_db`` everywhere. The multiplier follows the spectrogram's power by
default: 10 for power, 20 for magnitude.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from ..._model import Float, exact_int
from ..base import Args, DaliContext, OpParams, Tolerance, register_op
from ..state import AudioState, ChainError
from .base import AudioOp, require_kind

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

#: A reference magnitude: positive, far from float32's limits.
Reference = Annotated[Float, Field(gt=0.0, le=1e30)]


class ToDecibelsParams(OpParams):
    op: Literal["to_decibels"] = "to_decibels"
    #: 10 (power) or 20 (magnitude); `None`: follow the spectrogram's `power`.
    multiplier: Annotated[Literal[10, 20], BeforeValidator(exact_int)] | None = None
    #: `max`: each sample's own maximum is 0 dB; a number: that magnitude is 0 dB.
    reference: Literal["max"] | Reference = "max"
    #: The floor in dB below the reference (librosa's `-top_db` with `reference: max`).
    cutoff_db: Annotated[Float, Field(ge=-300.0, le=0.0)] = -80.0


@register_op
class ToDecibels(AudioOp[ToDecibelsParams]):
    name = "to_decibels"
    Params = ToDecibelsParams
    dali_operator = "fn.to_decibels"
    reference_name = "torch.log10 (float64)"
    tolerance = "float32 log10 (DALI) vs float64: max abs diff about 1e-5 dB"
    bounds = (Tolerance(float_abs=1e-4),)

    def multiplier(self, p: ToDecibelsParams, state: AudioState) -> int:
        if p.multiplier is not None:
            return p.multiplier
        if state.power is None:
            raise ChainError("multiplier", "10 or 20 (the input's power is unknown)", None)
        return 10 if state.power == 2 else 20

    def infer(self, p: ToDecibelsParams, state: AudioState) -> AudioState:
        require_kind(state, ("spectrogram", "mel"))
        self.multiplier(p, state)
        # Unbounded above with a fixed reference; DALI's floor lands a float32 rounding below
        # cutoff_db: no closed range to promise.
        return state.model_copy(update={"kind": "decibels", "power": None, "value_range": None})

    def build_dali(
        self, p: ToDecibelsParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn

        # Without `reference` DALI takes each sample's maximum (its reference=0 is refused).
        reference: dict[str, Any] = {}
        if p.reference != "max":
            reference["reference"] = float(p.reference)
        return fn.to_decibels(
            image,
            device=ctx.device,
            multiplier=float(self.multiplier(p, ctx.state)),
            cutoff_db=p.cutoff_db,
            **reference,
        )

    def reference(
        self, p: ToDecibelsParams, state: AudioState, x: torch.Tensor, args: Args
    ) -> torch.Tensor:
        import torch

        values = x.to(torch.float64)
        multiplier = self.multiplier(p, state)
        floor = 10.0 ** (p.cutoff_db / multiplier)
        if p.reference == "max":
            peak = float(values.max()) if values.numel() else 0.0
            # A silent sample: every ratio is at the floor (what DALI gives).
            ratio = values / peak if peak > 0 else torch.zeros_like(values)
        else:
            ratio = values / p.reference
        return (multiplier * torch.log10(ratio.clamp(min=floor))).to(torch.float32)
