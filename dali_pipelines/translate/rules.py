"""One rule per torchvision transform: its spec op(s) and arguments, or why it cannot map.

A rule reads the transform's attributes (v1 and v2 keep the same names), returns the spec ops
and what the image is afterwards (a PIL image or a tensor), and states how DALI differs from
torchvision when it does. An argument value the op cannot express raises :class:`Unsupported`,
and the transform stays in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..ops import get_op
from ..ops.python.registry import Accepts
from ..ops.state import ImageState


class Unsupported(Exception):
    """The transform (or one of its argument values) has no spec op: it stays in Python."""


@dataclass(frozen=True)
class Mapped:
    ops: list[dict[str, Any]]
    kind: Accepts
    #: How DALI computes differently (empty: the same, up to float rounding).
    note: str = ""
    exact: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[Any, Accepts, ImageState], Mapped]
RULES: dict[str, Rule] = {}

_INTERP = {"nearest": "nearest", "nearest-exact": "nearest", "bilinear": "bilinear"}
_INTERP["bicubic"] = "bicubic"
_PIL_INTERP = {0: "nearest", 2: "bilinear", 3: "bicubic"}
_DTYPES = {"torch.float32": "float32", "torch.float16": "float16", "torch.uint8": "uint8"}
_DTYPES["torch.bfloat16"] = "bfloat16"


def rule(*names: str) -> Callable[[Rule], Rule]:
    def add(fn: Rule) -> Rule:
        for name in names:
            RULES[name] = fn
        return fn

    return add


def map_transform(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    if not type(t).__module__.startswith("torchvision.transforms"):
        what = "a lambda or function" if hasattr(t, "__name__") else "a user transform"
        raise Unsupported(f"{what}: no DALI equivalent")
    fn = RULES.get(type(t).__name__)
    if type(t).__name__ == "Lambda":
        raise Unsupported("a Lambda: arbitrary Python")
    if fn is None:
        raise Unsupported(f"{type(t).__name__} has no spec op")
    return fn(t, kind, state)


def _interp(value: Any) -> str:
    name = _PIL_INTERP.get(value) if isinstance(value, int) else str(getattr(value, "value", value))
    if name not in _INTERP:
        raise Unsupported(f"interpolation={name}: DALI has nearest, bilinear and bicubic")
    return _INTERP[name]


def _interp_note(value: Any) -> str:
    name = str(getattr(value, "value", value))
    if name == "nearest":
        return "DALI's nearest samples pixel centres (torchvision's NEAREST_EXACT)"
    return ""


def _hw(size: Any) -> int | list[int]:
    if isinstance(size, int):
        return size
    size = list(size)
    if len(size) == 1:
        return int(size[0])
    return [int(size[0]), int(size[1])]


def _square(size: Any) -> list[int]:
    hw = _hw(size)
    return [hw, hw] if isinstance(hw, int) else hw


def _antialias(t: Any, kind: Accepts) -> bool:
    # PIL always antialiases; on tensors torchvision v2 defaults to True.
    return True if kind == "pil" else getattr(t, "antialias", True) is not False


def _resampled(kind: Accepts) -> str:
    where = "PIL's" if kind == "pil" else "torchvision's"
    return f"resize filter: DALI's antialiased filter vs {where}, max abs diff <= 3 (0-255)"


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


@rule("ToImage", "PILToTensor", "ToPureTensor")
def _to_tensor(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    # The pipeline's images are already uint8 pixels: only what a later stage receives changes.
    return Mapped([], "image" if type(t).__name__ == "ToImage" else "tensor")


@rule("Identity")
def _identity(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    return Mapped([], kind)


@rule("ToTensor")
def _to_tensor_scaled(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    if kind != "pil":
        raise Unsupported("ToTensor on a tensor")
    return Mapped([{"op": "to_dtype", "dtype": "float32", "scale": True}], "tensor")


@rule("ToDtype", "ConvertImageDtype")
def _to_dtype(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    if kind == "pil":
        return Mapped([], kind)  # v2 passes PIL images through unchanged
    dtype = t.dtype
    if isinstance(dtype, dict):
        from torchvision import tv_tensors

        dtype = dtype.get(tv_tensors.Image, dtype.get("others"))
        if dtype is None:
            return Mapped([], kind)
    name = _DTYPES.get(str(dtype))
    if name is None:
        raise Unsupported(f"dtype={dtype}: the pipeline has uint8, float32, float16, bfloat16")
    scale = bool(getattr(t, "scale", True))
    return Mapped([{"op": "to_dtype", "dtype": name, "scale": scale}], kind)


@rule("Normalize")
def _normalize(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    if kind == "pil" or not state.is_float:
        raise Unsupported("Normalize on a non-float image (torchvision would fail)")
    return Mapped([{"op": "normalize", "mean": list(t.mean), "std": list(t.std)}], kind)


@rule("Resize")
def _resize(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    if t.size is None:
        raise Unsupported("size=None (max_size only)")
    interp = _interp(t.interpolation)
    op: dict[str, Any] = {"op": "resize", "size": _hw(t.size), "interpolation": interp}
    op.update(max_size=t.max_size, antialias=_antialias(t, kind))
    return Mapped([op], kind, _join(_resampled(kind), _interp_note(t.interpolation)), False)


@rule("CenterCrop")
def _center_crop(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    return Mapped([{"op": "center_crop", "size": _square(t.size)}], kind)


@rule("RandomResizedCrop")
def _rrc(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    op: dict[str, Any] = {"op": "random_resized_crop", "size": _square(t.size)}
    op["scale"] = list(t.scale)
    op.update(ratio=list(t.ratio), interpolation=_interp(t.interpolation))
    op["antialias"] = _antialias(t, kind)
    note = _join("same crop windows", _resampled(kind), _interp_note(t.interpolation))
    return Mapped([op], kind, note, False)


def _fill(fill: Any) -> Any:
    if isinstance(fill, dict) or fill is None:
        raise Unsupported(f"fill={fill!r}: one value or one per channel")
    return list(fill) if isinstance(fill, list | tuple) else float(fill)


@rule("RandomCrop")
def _random_crop(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    op: dict[str, Any] = {"op": "random_crop", "size": _square(t.size)}
    if t.padding is not None:
        op["padding"] = t.padding if isinstance(t.padding, int) else list(t.padding)
    op.update(pad_if_needed=bool(t.pad_if_needed), fill=_fill(t.fill))
    op["padding_mode"] = t.padding_mode
    return Mapped([op], kind)


@rule("Pad")
def _pad(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    padding = t.padding if isinstance(t.padding, int) else list(t.padding)
    op = {"op": "pad", "padding": padding, "fill": _fill(t.fill), "padding_mode": t.padding_mode}
    return Mapped([op], kind)


@rule("RandomHorizontalFlip", "RandomVerticalFlip")
def _flip(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    name = "horizontal_flip" if "Horizontal" in type(t).__name__ else "vertical_flip"
    return Mapped([{"op": name, "p": float(t.p)}], kind)


@rule("ColorJitter")
def _color_jitter(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    op: dict[str, Any] = {"op": "color_jitter"}
    for name in ("brightness", "contrast", "saturation", "hue"):
        value = getattr(t, name)
        op[name] = None if value is None else [float(v) for v in value]
    note = get_op("color_jitter").tolerance
    if kind == "pil":
        note = _join("PIL's ImageEnhance rounds differently from the tensor kernels DALI follows")
    return Mapped([op], kind, note, False)


@rule("Grayscale")
def _grayscale(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    note = "PIL's integer grey weights: <= 1 level" if kind == "pil" else ""
    op = {"op": "grayscale", "num_output_channels": int(t.num_output_channels)}
    return Mapped([op], kind, note, not note)


@rule("GaussianBlur")
def _gaussian_blur(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    lo, hi = (float(s) for s in t.sigma)
    op: dict[str, Any] = {"op": "gaussian_blur", "kernel_size": list(t.kernel_size)}
    op["sigma"] = lo if lo == hi else [lo, hi]
    note = "PIL blurs with its own kernel" if kind == "pil" else ""
    return Mapped([op], kind, note, not note)


@rule("RandomRotation")
def _rotate(t: Any, kind: Accepts, state: ImageState) -> Mapped:
    if t.expand or t.center is not None:
        raise Unsupported("expand=True or a center: the rotate op keeps the size and centre")
    fill = t.fill
    if isinstance(fill, list | tuple) and len(set(fill)) == 1:
        fill = fill[0]
    if isinstance(fill, dict | list | tuple) or fill is None:
        raise Unsupported(f"fill={fill!r}: one value for every channel")
    interp = _interp(t.interpolation)
    if interp == "bicubic":
        raise Unsupported("interpolation=bicubic: torchvision rotates with nearest or bilinear")
    op: dict[str, Any] = {"op": "rotate", "degrees": [float(d) for d in t.degrees]}
    op["interpolation"] = interp
    op["fill"] = float(fill)
    return Mapped([op], kind, get_op("rotate").tolerance, False)
