"""What an op's torchvision rule returns, and the argument readers the rules share.

Each op names the torchvision classes it stands for (``torchvision_classes``) and translates
such a transform's arguments into its spec entry (:meth:`Op.from_torchvision_args
<dali_pipelines.ops.base.Op.from_torchvision_args>`). A rule reads the transform's attributes
(v1 and v2 keep the same names), returns the spec ops and what the image is afterwards (a PIL
image or a tensor), and states how DALI differs from torchvision when it does. An argument value
the op cannot express raises :class:`Unsupported`, and the transform stays in Python.

torchvision is never imported here: the rules only read attributes of a transform they are given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

#: What a transform (or a Python stage) takes and gives: a numpy HWC array, a PIL image, a CHW
#: tensor, or a tv_tensors.Image.
Accepts = Literal["numpy", "pil", "tensor", "image"]


class Unsupported(Exception):
    """The transform (or one of its argument values) has no spec op: it stays in Python.

    Control flow of the translation, never raised to the user (the transform becomes a stage).
    """


@dataclass(frozen=True)
class Mapped:
    ops: list[dict[str, Any]]
    kind: Accepts
    #: How DALI computes differently (empty: the same, up to float rounding).
    note: str = ""
    exact: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


_INTERP = {"nearest": "nearest", "nearest-exact": "nearest", "bilinear": "bilinear"}
_INTERP["bicubic"] = "bicubic"
_PIL_INTERP = {0: "nearest", 2: "bilinear", 3: "bicubic"}


def interp(value: Any) -> str:
    name = _PIL_INTERP.get(value) if isinstance(value, int) else str(getattr(value, "value", value))
    if name not in _INTERP:
        raise Unsupported(f"interpolation={name}: DALI has nearest, bilinear and bicubic")
    return _INTERP[name]


def interp_note(value: Any) -> str:
    name = str(getattr(value, "value", value))
    if name == "nearest":
        return "DALI's nearest samples pixel centres (torchvision's NEAREST_EXACT)"
    return ""


def hw(size: Any) -> int | list[int]:
    if isinstance(size, int):
        return size
    size = list(size)
    if len(size) == 1:
        return int(size[0])
    return [int(size[0]), int(size[1])]


def square(size: Any) -> list[int]:
    value = hw(size)
    return [value, value] if isinstance(value, int) else value


def antialias(t: Any, kind: Accepts) -> bool:
    # PIL always antialiases; on tensors torchvision v2 defaults to True.
    return True if kind == "pil" else getattr(t, "antialias", True) is not False


def resampled(kind: Accepts) -> str:
    where = "PIL's" if kind == "pil" else "torchvision's"
    return f"resize filter: DALI's antialiased filter vs {where}, max abs diff <= 3 (0-255)"


def join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def fill(value: Any) -> Any:
    if isinstance(value, dict) or value is None:
        raise Unsupported(f"fill={value!r}: one value or one per channel")
    return list(value) if isinstance(value, list | tuple) else float(value)
