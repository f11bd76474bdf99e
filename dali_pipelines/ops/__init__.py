"""The op registry. Importing this package registers every built-in op.

To add an op: write one module here with its params model, shape rule, draw, DALI builder,
torch implementation, declared traits (:data:`~.base.TRAITS`) and torchvision translation,
decorate the class with :func:`register_op`, and import it below.
"""

from __future__ import annotations

from . import (  # noqa: F401  (registration side effect)
    audio,
    center_crop,
    color_jitter,
    gaussian_blur,
    grayscale,
    horizontal_flip,
    normalize,
    pad,
    python,
    random_crop,
    random_resized_crop,
    resize,
    rotate,
    to_dtype,
    vertical_flip,
)
from .base import DaliContext, Op, OpParams, get_op, register_op, registered_ops
from .state import ChainError, ImageState

__all__ = [
    "ChainError",
    "DaliContext",
    "ImageState",
    "Op",
    "OpParams",
    "get_op",
    "register_op",
    "registered_ops",
]
