"""Which op stands for a torchvision transform: the op that names its class translates it.

Each op declares the torchvision classes it stands for (``Op.torchvision_classes``) and turns
such a transform's arguments into its spec entry (``Op.from_torchvision_args``). What is left
here are the conversions, which change what a later Python stage receives but run no op.
"""

from __future__ import annotations

from typing import Any

from ..errors import RegistryError
from ..ops import registered_ops
from ..ops._translate import Accepts, Mapped, Unsupported
from ..ops.base import Op
from ..ops.state import ImageState

__all__ = ["Mapped", "Unsupported", "map_transform", "ops_by_torchvision_class"]

#: Conversions: the pipeline's images are uint8 pixels already, only their kind changes.
_CONVERSIONS: dict[str, Accepts | None] = {
    "ToImage": "image",
    "PILToTensor": "tensor",
    "ToPureTensor": "tensor",
    "Identity": None,  # the kind it was given
}


def ops_by_torchvision_class() -> dict[str, Op[Any]]:
    """torchvision class name -> the registered op declaring it (a class claimed twice is an
    error: the translation would depend on registration order)."""
    out: dict[str, Op[Any]] = {}
    for op in registered_ops().values():
        for name in op.torchvision_classes:
            if name in out:
                raise RegistryError(
                    f"torchvision_classes: expected {name} in one op, got {out[name].name} "
                    f"and {op.name}"
                )
            out[name] = op
    return out


def map_transform(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    if not type(t).__module__.startswith("torchvision.transforms"):
        what = "a lambda or function" if hasattr(t, "__name__") else "a user transform"
        raise Unsupported(f"{what}: no DALI equivalent")
    name = type(t).__name__
    if name == "Lambda":
        raise Unsupported("a Lambda: arbitrary Python")
    if name in _CONVERSIONS:
        return Mapped([], _CONVERSIONS[name] or kind)
    op = ops_by_torchvision_class().get(name)
    if op is None:
        raise Unsupported(f"{name} has no spec op")
    return op.from_torchvision_args(t, kind, state)
