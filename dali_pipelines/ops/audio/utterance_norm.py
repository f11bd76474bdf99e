"""utterance_norm: each bin of a sample's features normalized over time to mean 0 and
variance 1, ``(x - mean) / sqrt(var + epsilon)`` (per-utterance CMVN).

DALI's formula (``fn.normalize(axes=[1])``), measured: the variance is the biased one (divided
by the frame count) and ``epsilon`` is added to it under the square root, not to the standard
deviation; a bin whose variance plus ``epsilon`` is 0 (constant, epsilon 0) becomes 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from ..._model import Float
from ..base import Args, DaliContext, OpParams, Tolerance, register_op
from ..state import AudioState
from ._features import require_features
from .base import AudioOp

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch


class UtteranceNormParams(OpParams):
    op: Literal["utterance_norm"] = "utterance_norm"
    #: Added to each bin's variance before the square root (keeps near-constant bins finite).
    epsilon: Annotated[Float, Field(ge=0.0, le=1e6)] = 1e-5


@register_op
class UtteranceNorm(AudioOp[UtteranceNormParams]):
    name = "utterance_norm"
    Params = UtteranceNormParams
    dali_operator = "fn.normalize (axes=[1], epsilon)"
    reference_name = "torch mean/var over time (float64)"
    tolerance = (
        "DALI's float32 mean and variance vs float64: max abs diff about 4e-6 on decibel "
        "features; a bin whose spread is tiny against its mean loses digits in float32 "
        "(epsilon bounds the loss)"
    )
    bounds = (Tolerance(float_abs=1e-4),)

    def infer(self, p: UtteranceNormParams, state: AudioState) -> AudioState:
        require_features(state)
        return state.model_copy(update={"value_range": None})

    def build_dali(
        self, p: UtteranceNormParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn

        return fn.normalize(image, device=ctx.device, axes=[1], epsilon=p.epsilon)

    def reference(
        self, p: UtteranceNormParams, state: AudioState, x: torch.Tensor, args: Args
    ) -> torch.Tensor:
        import torch

        values = x.to(torch.float64)
        centred = values - values.mean(dim=1, keepdim=True)
        scale = torch.sqrt((centred**2).mean(dim=1, keepdim=True) + p.epsilon)
        safe = torch.where(scale > 0, scale, torch.ones_like(scale))
        return torch.where(scale > 0, centred / safe, torch.zeros_like(centred)).to(torch.float32)
