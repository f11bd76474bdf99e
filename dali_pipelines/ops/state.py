"""The image state carried through an op chain (ffcv-style) before anything runs.

Every op has a shape rule ``infer(params, state) -> state``. The planner folds the rules over the
spec so an impossible chain is rejected up front, and the contract of a spec's output is the final
state. Layout is not part of the state: inside the graph images are HWC; the output step decides
CHW or HWC.
"""

from __future__ import annotations

from typing import Literal

from .._model import FrozenModel

Dtype = Literal["uint8", "float32", "float16", "bfloat16"]
FLOAT_DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16")


class ChainError(ValueError):
    """Raised by an op's shape rule; the planner adds the op index and name to the message."""

    def __init__(self, field: str, expected: str, got: object):
        super().__init__(f"{field}: expected {expected}, got {got}")
        self.field = field
        self.expected = expected
        self.got = got


class ImageState(FrozenModel):
    """What one image looks like at a point in the chain.

    ``height``/``width`` are ``None`` while they vary per sample (right after decode, or after a
    shorter-side resize). ``value_range`` is the closed interval values may take.
    """

    channels: int = 3
    height: int | None = None
    width: int | None = None
    dtype: Dtype = "uint8"
    value_range: tuple[float, float] = (0.0, 255.0)
    normalized: bool = False

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES

    @property
    def fixed_size(self) -> tuple[int, int] | None:
        if self.height is None or self.width is None:
            return None
        return (self.height, self.width)

    def with_size(self, height: int | None, width: int | None) -> ImageState:
        return self.model_copy(update={"height": height, "width": width})
