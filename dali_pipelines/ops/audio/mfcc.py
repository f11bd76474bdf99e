"""mfcc: the first ``n_mfcc`` coefficients of a DCT-II over the bins of decibel (mel)
features, ``(n_mfcc, frames)``, optionally liftered.

DALI's DCT (``fn.mfcc``), measured against ``scipy.fft.dct(type=2)``: with ``norm="ortho"``
it is scipy's orthonormal DCT-II; with ``norm=None`` it is ``sum_n x[n] cos(pi k (2n + 1) /
2N)``, half of scipy's unnormalized DCT-II (no factor 2). The lifter multiplies coefficient k
by ``1 + (lifter / 2) sin(pi (k + 1) / lifter)`` (HTK's and librosa's; DALI's docstring puts
the parentheses elsewhere, its code does this).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field

from ..._model import Float
from ..base import Args, DaliContext, OpParams, Size, Tolerance, register_op
from ..state import AudioState, ChainError
from ._features import BinCount
from .base import AudioOp, require_kind

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch


class MfccParams(OpParams):
    op: Literal["mfcc"] = "mfcc"
    #: Number of coefficients kept (<= the input's bins).
    n_mfcc: BinCount = 13
    #: Cepstral lifter coefficient (HTK's, librosa's `lifter`); 0: none.
    lifter: Annotated[Float, Field(ge=0.0, le=1000.0)] = 0.0
    #: `ortho`: the orthonormal DCT-II; `None`: DALI's unscaled one (half of scipy's).
    norm: Literal["ortho"] | None = "ortho"


def lifter_weights(lifter: float, n_mfcc: int) -> np.ndarray:
    """Coefficient k's factor, ``1 + (lifter / 2) sin(pi (k + 1) / lifter)`` (1 without)."""
    if lifter <= 0:
        return np.ones(n_mfcc)
    k = np.arange(n_mfcc, dtype=np.float64)
    return 1.0 + (lifter / 2.0) * np.sin(np.pi * (k + 1.0) / lifter)


@register_op
class Mfcc(AudioOp[MfccParams]):
    name = "mfcc"
    Params = MfccParams
    dali_operator = "fn.mfcc (dct_type=2, axis=0)"
    reference_name = "scipy.fft.dct(type=2) along the bins (float64)"
    tolerance = (
        "float32 DCT (DALI) vs float64 scipy: max abs diff about 2e-7 of the largest "
        "coefficient (decibel inputs make coefficients of hundreds to thousands)"
    )
    bounds = (Tolerance(float_abs=5e-3),)

    def infer(self, p: MfccParams, state: AudioState) -> AudioState:
        require_kind(state, ("decibels",))
        bins = int(state.bins or 0)
        # DALI silently keeps only `bins` coefficients when asked for more.
        if p.n_mfcc > bins:
            raise ChainError("n_mfcc", f"<= {bins} (the input's bins)", p.n_mfcc)
        return state.model_copy(update={"kind": "mfcc", "bins": p.n_mfcc})

    def draw_state(
        self, p: MfccParams, state: AudioState, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        return {}, (p.n_mfcc, size[1])

    def build_dali(
        self, p: MfccParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn

        return fn.mfcc(
            image,
            device=ctx.device,
            n_mfcc=p.n_mfcc,
            dct_type=2,
            normalize=p.norm == "ortho",
            lifter=p.lifter,
            axis=0,
        )

    def reference(
        self, p: MfccParams, state: AudioState, x: torch.Tensor, args: Args
    ) -> torch.Tensor:
        import scipy.fft
        import torch

        values = x.detach().to(torch.float64).numpy()
        coefficients = scipy.fft.dct(values, type=2, norm=p.norm, axis=0)[: p.n_mfcc]
        if p.norm is None:
            coefficients = coefficients / 2.0
        weights = lifter_weights(p.lifter, p.n_mfcc)[: coefficients.shape[0], None]
        return torch.from_numpy(coefficients * weights).to(torch.float32)
