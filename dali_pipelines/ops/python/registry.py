"""Python ops registered by name: what a spec's ``{"op": "python", "name": ...}`` refers to.

A spec file never imports code: it names an op that the user's own code registered with
:func:`register_python_op` before loading the spec. A registered op is a function
``fn(image, rng, **params)`` or a class constructed as ``cls(**params)`` and called as
``obj(image, rng)``; ``rng`` is a ``numpy.random.Generator`` seeded from (seed, epoch, sample
index), which is what keeps a run deterministic (a function without an ``rng`` parameter is
called with the image only). ``accepts`` says what the callable takes and returns: ``"numpy"``
(HWC uint8/float32 arrays, the default: a pure function of the image and ``rng``), ``"pil"`` (a
PIL image), ``"tensor"`` (a CHW torch tensor) or ``"image"`` (a CHW ``tv_tensors.Image``). The
last three are torchvision-style: they get the global RNGs (torch, numpy, random) seeded per
sample, the way torchvision transforms draw.

Nothing here imports DALI or torch.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from ...errors import RegistryError
from .._translate import Accepts
from ..state import Dtype, ImageState

Placement = Literal["auto", "inline", "workers"]
ACCEPTS: tuple[str, ...] = ("numpy", "pil", "tensor", "image")
PLACEMENTS: tuple[str, ...] = ("auto", "inline", "workers")


@dataclass(frozen=True)
class OutputRule:
    """What a Python stage does to the image state (its shape rule, declared, never guessed).

    ``size`` is ``"same"``, a fixed ``(height, width)``, or ``"varies"`` (unknown until it runs:
    later ops that depend on the size then run per sample after it, with the real size).
    ``dtype``/``channels``/``value_range`` of ``None`` keep the input's.
    """

    size: tuple[int, int] | Literal["same", "varies"] = "same"
    dtype: Dtype | None = None
    channels: int | None = None
    value_range: tuple[float, float] | None = None

    def apply(self, state: ImageState) -> ImageState:
        update: dict[str, Any] = {}
        if self.size == "varies":
            update.update(height=None, width=None)
        elif self.size != "same":
            update.update(height=self.size[0], width=self.size[1])
        if self.dtype is not None and self.dtype != state.dtype:
            update["dtype"] = self.dtype
            if self.value_range is None:
                # A dtype change without a stated range: torchvision's convention for each dtype.
                update["value_range"] = (0.0, 255.0) if self.dtype == "uint8" else (0.0, 1.0)
                update["normalized"] = False
        if self.channels is not None:
            update["channels"] = self.channels
        if self.value_range is not None:
            update["value_range"] = self.value_range
        return state.model_copy(update=update) if update else state

    def out_size(self, size: tuple[int, int]) -> tuple[int, int] | None:
        """The output size for an input of ``size``; ``None`` when it is only known after."""
        if self.size == "same":
            return size
        if self.size == "varies":
            return None
        return self.size


@dataclass(frozen=True)
class PythonOpInfo:
    """One registered op: the callable and what it declared."""

    name: str
    target: Callable[..., Any]
    accepts: Accepts
    output: OutputRule
    placement: Placement
    #: The callable takes an ``rng`` keyword argument.
    takes_rng: bool
    #: ``target`` is a class: instantiated once per process with the spec's params.
    is_class: bool
    #: Declared Python time per image (ms); the planner uses it to choose the placement.
    cost_ms: float | None = None

    def check_params(self, params: Mapping[str, Any]) -> None:
        """Raise ``TypeError`` when ``params`` do not fit the callable's signature."""
        if self.is_class:
            inspect.signature(self.target).bind(**params)
        else:
            sig = inspect.signature(self.target)
            first = list(sig.parameters)[:1]
            fixed = {first[0]: None} if first else {}
            if self.takes_rng:
                fixed["rng"] = None
            sig.bind(**fixed, **params)

    def instantiate(self, params: Mapping[str, Any]) -> Callable[..., Any]:
        """The per-sample callable: ``call(image)`` or ``call(image, rng)``."""
        if self.is_class:
            return self.target(**params)
        if not params:
            return self.target
        target, kwargs = self.target, dict(params)

        def bound(*args: Any, **kw: Any) -> Any:
            return target(*args, **kw, **kwargs)

        bound.__name__ = getattr(target, "__name__", self.name)
        return bound


_PYTHON_OPS: dict[str, PythonOpInfo] = {}
T = TypeVar("T")


def takes_rng(target: Callable[..., Any]) -> bool:
    """Whether ``target`` (a function, a class's ``__call__`` or an object) has an ``rng`` param."""
    func = target.__call__ if isinstance(target, type) else target
    try:
        return "rng" in inspect.signature(func).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False


def register_python_op(
    name: str,
    *,
    accepts: Accepts = "numpy",
    size: tuple[int, int] | Literal["same", "varies"] = "same",
    dtype: Dtype | None = None,
    channels: int | None = None,
    value_range: tuple[float, float] | None = None,
    placement: Placement = "auto",
    cost_ms: float | None = None,
) -> Callable[[T], T]:
    """Register a function, class or callable object as the Python op ``name``.

    Use as a decorator (``@register_python_op("ocr_warp")``) or call the result on an object
    (``register_python_op("my_aug", accepts="pil")(MyAug())``); the target is returned
    unchanged. ``size``/``dtype``/``channels``/``value_range`` declare the output (default: like
    the input). ``placement`` forces ``"inline"`` (DALI's ``python_function``) or ``"workers"``
    (worker processes); ``"auto"`` lets the planner choose: inline, unless ``cost_ms`` (the
    op's typical Python time per image) reaches the measured crossover where workers win
    (:data:`dali_pipelines.plan.placement.WORKERS_FROM_MS`).
    """
    if not name or not isinstance(name, str):
        raise RegistryError(f"python op name: expected a non-empty string, got {name!r}")
    if accepts not in ACCEPTS:
        raise RegistryError(
            f"python op {name!r}.accepts: expected one of {ACCEPTS}, got {accepts!r}"
        )
    if placement not in PLACEMENTS:
        raise RegistryError(
            f"python op {name!r}.placement: expected one of {PLACEMENTS}, got {placement!r}"
        )

    def register(target: T) -> T:
        if not callable(target):
            raise RegistryError(f"python op {name!r}: expected a callable, got {target!r}")
        if name in _PYTHON_OPS and _PYTHON_OPS[name].target is not target:
            raise RegistryError(f"python op {name!r} is already registered")
        _PYTHON_OPS[name] = PythonOpInfo(
            name=name,
            target=target,
            accepts=accepts,
            output=OutputRule(size=size, dtype=dtype, channels=channels, value_range=value_range),
            placement=placement,
            takes_rng=takes_rng(target),
            is_class=isinstance(target, type),
            cost_ms=cost_ms,
        )
        return target

    return register


def get_python_op(name: str) -> PythonOpInfo:
    try:
        return _PYTHON_OPS[name]
    except KeyError:
        known = ", ".join(sorted(_PYTHON_OPS)) or "none registered"
        raise RegistryError(
            f"python op: expected a name registered with register_python_op ({known}), got {name!r}"
        ) from None


def find_registered(target: object) -> PythonOpInfo | None:
    """The registration of this very object (a registered function or instance), if any."""
    for info in _PYTHON_OPS.values():
        if info.target is target:
            return info
    return None


def registered_python_ops() -> dict[str, PythonOpInfo]:
    return dict(_PYTHON_OPS)


def unregister_python_op(name: str) -> None:
    """Remove a registration (tests, notebooks that redefine an op)."""
    _PYTHON_OPS.pop(name, None)
