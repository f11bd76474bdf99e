"""What an op is: params model, shape rule, per-sample draw, DALI builder, torchvision reference.

Each op lives in one module of this package and registers one :class:`Op` instance with
:func:`register_op`. The four faces of an op are kept together so they cannot drift apart:

* ``Params`` - the pydantic model of its spec entry (``{"op": "<name>", ...}``);
* ``infer`` - its shape rule over :class:`ImageState` (static, before anything runs);
* ``draw`` - its per-sample parameters, drawn in Python from a generator seeded by
  (seed, epoch, sample index) and handed to DALI as argument inputs. Owning the randomness makes
  augmentations a pure function of that triple (DALI's own RNG depends on the pipeline's history)
  and lets the torch path apply exactly the same parameters;
* ``build_dali`` / ``apply_torch`` / ``torchvision`` - the three executions of the same op.

DALI and torchvision are imported inside the methods that need them, so loading a spec and
inferring its contract work where neither is importable.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, cast

import numpy as np

from .._model import FrozenModel
from ..errors import RegistryError
from ._translate import Unsupported
from .state import ImageState

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

    from ._translate import Accepts, Mapped

Size = tuple[int, int]  # (height, width)
Args = dict[str, np.ndarray]
#: What an op does to boxes: keeps their positions, moves them (``transform_boxes``) or has no
#: rule (a spec with a boxes output refuses the op).
BoxRule = Literal["keep", "move", "refuse"]


class OpParams(FrozenModel):
    """Base of every op's params model; subclasses narrow ``op`` to a ``Literal``."""

    op: str


P = TypeVar("P", bound=OpParams)


@dataclass(frozen=True)
class DaliContext:
    """What a DALI builder needs to know: where ops run and the state of its input image."""

    device: Literal["cpu", "gpu"] = "cpu"
    #: The op's input state: an :class:`ImageState`, or an :class:`AudioState` for audio ops.
    state: Any = field(default_factory=ImageState)


@dataclass(frozen=True)
class Tolerance:
    """A stated bound on the per-pixel difference between DALI and the op's torch implementation
    (the reference backend) on the same drawn arguments.

    ``max_abs`` and ``mean_abs`` bound uint8 outputs (0-255 scale); ``float_abs`` bounds float
    outputs in their own units (max). ``when`` is ``""`` (any params) or ``"field=value"`` (the
    bound of params whose ``field`` is ``value``, e.g. ``"interpolation=nearest"``).
    """

    max_abs: float = 0.0
    mean_abs: float = 0.0
    float_abs: float = 0.0
    when: str = ""

    def matches(self, p: OpParams) -> bool:
        if not self.when:
            return True
        field_name, _, value = self.when.partition("=")
        return str(getattr(p, field_name, None)) == value

    def describe(self) -> str:
        """``uint8 max 3, mean 0.5; float max 0.012`` (``exact`` when all are 0)."""
        if not (self.max_abs or self.mean_abs or self.float_abs):
            text = "exact"
        else:
            exact = not (self.max_abs or self.mean_abs)
            uint8 = "exact" if exact else f"max {self.max_abs:g}, mean {self.mean_abs:g}"
            text = f"uint8 {uint8}; float max {self.float_abs:g}"
        return f"{self.when}: {text}" if self.when else text


EXACT = Tolerance()


@dataclass(frozen=True)
class BatchAffine:
    """An op on a batch as ``x -> (x - sub) / div`` per channel, or as a per-sample flip."""

    #: The dim flipped where the sample's ``flip`` flag is set (then nothing else applies).
    flip_dim: int | None = None
    sub: tuple[float, ...] = (0.0,)
    div: tuple[float, ...] = (1.0,)
    #: The output is float (the map applies to values in [0, 1] scale from here on).
    to_float: bool = False
    #: A uint8 input is scaled to [0, 1] first (normalize does that itself).
    scales_uint8: bool = False
    #: Fused only as the tail's last step (what the fused pass was measured with).
    last_only: bool = False


class Op(ABC, Generic[P]):
    """Base class of the ops. Subclasses set ``name``/``Params`` and override what applies."""

    name: ClassVar[str]
    Params: ClassVar[type[OpParams]]
    #: True when ``draw`` uses the generator (the op is random).
    random: ClassVar[bool] = False
    #: The DALI operator(s) used, for docs and ``assess``.
    dali_operator: ClassVar[str] = ""
    #: The torchvision equivalent, for docs and ``assess``.
    torchvision_name: ClassVar[str] = ""
    #: Whether the DALI builder exists for each device; an op with neither runs in Python.
    dali_cpu: ClassVar[bool] = True
    dali_gpu: ClassVar[bool] = True
    #: How DALI and torchvision differ and why (prose, for docs and ``assess``).
    tolerance: ClassVar[str] = "exact"
    #: The numeric bounds of that difference, DALI vs ``apply_torch`` (the reference backend):
    #: the first whose ``when`` matches the params applies (:meth:`bound`). Rendered in
    #: docs/operators.md and checked end to end by tests/backends/test_reference.py.
    bounds: ClassVar[tuple[Tolerance, ...]] = (EXACT,)
    #: Moves pixels (flip, crop, resize, rotate, pad): with several image columns in a sample
    #: its draws are shared by default so the frames stay aligned (``source.shared_random``).
    geometric: ClassVar[bool] = False
    #: Changes values, never positions (colour, blur, normalize, dtype): boxes pass unchanged.
    pixelwise: ClassVar[bool] = False
    #: What the op works on: image ops chain after an image decode, audio ops
    #: (:mod:`.audio`) after an audio decode; the planner refuses a mix.
    modality: ClassVar[Literal["image", "audio"]] = "image"

    # -- declared traits: each op states every one itself (register_op refuses a missing one),
    # so where an op runs and what it supports is read off the op, never matched by its name.
    #: Runs on a whole batch after a Python stage (the hybrid tail, :meth:`apply_batch`): its
    #: draws are per-sample flags, or the same for every input of one size.
    batchable: ClassVar[bool]
    #: Draws the same whatever its input's size (it may follow a stage of unknown output size).
    size_free: ClassVar[bool]
    #: The DALI builder reads ``args["index"]``, the sample index (the graph then feeds it).
    needs_sample_index: ClassVar[bool]
    #: ``"keep"``, ``"move"`` (:meth:`transform_boxes`) or ``"refuse"``: see :data:`BoxRule`.
    box_rule: ClassVar[BoxRule]
    #: As the chain's last op it writes the output layout and dtype (:meth:`build_dali_output`).
    fuses_output: ClassVar[bool]
    #: As the chain's first op it decodes only what it keeps (:meth:`build_dali_decode`).
    fuses_decode: ClassVar[bool]
    #: The torchvision classes it stands for (:meth:`from_torchvision_args`); ``()``: none.
    torchvision_classes: ClassVar[tuple[str, ...]]

    # -- static ---------------------------------------------------------------------------
    def infer(self, p: P, state: Any) -> Any:
        """Shape rule over the op's modality's state (:class:`ImageState` for image ops).
        Raise :class:`ChainError` for an impossible input state."""
        return state

    def dali_supported(self, p: P, device: str) -> str | None:
        """``None`` when DALI can run ``p`` on ``device``; otherwise the reason it cannot."""
        ok = self.dali_cpu if device == "cpu" else self.dali_gpu
        return None if ok else f"{self.name} has no DALI {device} operator"

    def bound(self, p: P) -> Tolerance:
        """The stated DALI vs torch bound for params ``p`` (the first of ``bounds`` matching)."""
        return next((t for t in self.bounds if t.matches(p)), self.bounds[-1])

    # -- per sample ---------------------------------------------------------------------------
    def arg_names(self, p: P) -> tuple[str, ...]:
        """Names of the per-sample arrays ``draw`` returns (fixed for given params)."""
        return ()

    def draw(self, p: P, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        """Per-sample parameters for an input of ``size`` and the output size they give.

        Every array must have the same dtype and ndim for every sample (DALI needs uniform
        argument inputs).
        """
        return {}, size

    def draw_state(
        self, p: P, state: Any, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        """:meth:`draw` with the op's input state known to the plan (what the seed policy calls).
        Image ops draw from the size alone; audio ops also need the state's sample rate."""
        return self.draw(p, size, rng)

    def transform_boxes(self, p: P, boxes: np.ndarray, args: Args, size: Size) -> np.ndarray | None:
        """Boxes (K, 4) x1, y1, x2, y2 in pixels of an input of ``size`` after the op with the
        drawn ``args``, as torchvision v2 moves ``BoundingBoxes``; ``None``: no box rule (a spec
        with a boxes output refuses the op)."""
        return boxes if self.box_rule == "keep" else None

    # -- execution ---------------------------------------------------------------------------
    @abstractmethod
    def build_dali(self, p: P, image: Any, args: Mapping[str, Any], ctx: DaliContext) -> Any:
        """Add the op to a DALI graph; ``image`` is an HWC DataNode, ``args`` the drawn inputs."""

    def build_dali_decode(
        self, p: P, args: Mapping[str, Any], ctx: DaliContext, decode: Callable[..., Any]
    ) -> Any | None:
        """Fused decode + op when the op comes first (ROI decoding for crops); ``None`` if not.

        ``decode(kind, **kwargs)`` calls ``fn.decoders.<kind>`` (``"image"``, ``"image_crop"``,
        ``"image_slice"``, ...) on the encoded input with the backend's device, colour and
        upsampling options, so those stay in one place. ``ctx.state`` is the decoded state.
        """
        return None

    def build_dali_output(
        self,
        p: P,
        image: Any,
        args: Mapping[str, Any],
        ctx: DaliContext,
        layout: str,
        dtype: str,
        window: Mapping[str, Any] | None = None,
    ) -> Any:
        """The op fused with the output conversion (``layout``, ``dtype``) as the chain's last op;
        called only for ops that declare ``fuses_output``. ``window``: the previous op's
        :meth:`output_window`, to crop in the same pass (padding where the image is smaller
        must give what the separate crop would have: zeros through the op)."""
        raise RegistryError(f"{self.name}: expected fuses_output, got a call to build_dali_output")

    #: Arguments :meth:`output_window` reads (empty: the op has no output window).
    output_window_args: ClassVar[tuple[str, ...]] = ()
    #: Arguments only :meth:`output_window` reads (the op's own operator reads the others).
    window_only_args: ClassVar[tuple[str, ...]] = ()

    def output_window(self, p: P, args: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """``crop_mirror_normalize`` arguments doing this op's work (a centre crop's ``crop``
        and ``crop_pos_x/y``, a horizontal flip's ``mirror``), so a following fused output op
        does it in its own pass instead of this op running as a separate DALI operator (each
        measured ~3% of throughput on imagenet_val/train); ``None`` (the default): it cannot."""
        return None

    def apply_batch(self, p: P, batch: torch.Tensor, args: list[Args]) -> torch.Tensor:
        """A ``batchable`` op on a whole NCHW batch, ``args`` drawn per sample. The default
        suits ops that draw the same for same-size inputs: the first sample's draw is everyone's."""
        return self.apply_torch(p, batch, args[0] if args else {})

    def batch_affine(self, p: P, is_float: bool) -> BatchAffine | None:
        """The op on a batch as a per-channel affine map (the hybrid tail fuses a run of them
        into one pass); ``None``: it runs op by op. ``is_float``: the input is float already."""
        return None

    def from_torchvision_args(self, t: Any, kind: Accepts, state: ImageState) -> Mapped:
        """The spec entries for the torchvision transform ``t`` (one of ``torchvision_classes``)
        applied to a ``kind`` image in ``state``; :class:`Unsupported` keeps it in Python."""
        raise Unsupported(f"{type(t).__name__} has no rule in op {self.name}")

    @abstractmethod
    def apply_torch(self, p: P, image: torch.Tensor, args: Args) -> torch.Tensor:
        """Apply with the drawn ``args`` to one CHW tensor (torchvision v2 functional)."""

    @abstractmethod
    def torchvision(self, p: P) -> Any:
        """The torchvision v2 transform doing the same work (the reference backend)."""


_OPS: dict[str, Op[Any]] = {}
_LISTENERS: list[Callable[[], None]] = []


def on_register(listener: Callable[[], None]) -> None:
    """Call ``listener`` after every later registration (the spec rebuilds its op union)."""
    _LISTENERS.append(listener)


OpT = TypeVar("OpT", bound=type)

#: The traits every registered op declares itself (class attributes without a base default).
TRAITS = (
    "batchable",
    "size_free",
    "needs_sample_index",
    "box_rule",
    "fuses_output",
    "fuses_decode",
    "torchvision_classes",
)


def check_traits(cls: type[Op[Any]], name: str) -> None:
    """Refuse an op class that leaves a trait undeclared, or declares one without its method."""
    missing = [trait for trait in TRAITS if not hasattr(cls, trait)]
    if missing:
        raise RegistryError(f"op {name!r}: expected declared traits {missing}, got none")
    needs = {
        "transform_boxes": cls.box_rule == "move",
        "build_dali_output": cls.fuses_output,
        "build_dali_decode": cls.fuses_decode,
        "from_torchvision_args": bool(cls.torchvision_classes),
    }
    for method, needed in needs.items():
        if needed and getattr(cls, method) is getattr(Op, method):
            raise RegistryError(f"op {name!r}: expected its own {method} for its traits, got none")


def register_op(cls: OpT) -> OpT:
    """Class decorator: register one instance of an :class:`Op` subclass under ``cls.name``."""
    name = cls.name  # type: ignore[attr-defined]
    if name in _OPS:
        raise RegistryError(f"op {name!r} is already registered (by {type(_OPS[name]).__module__})")
    params = cls.Params  # type: ignore[attr-defined]
    op_field = params.model_fields.get("op")
    if op_field is None or op_field.default != name:
        raise RegistryError(f"op {name!r}: Params.op must be Literal[{name!r}] = {name!r}")
    check_traits(cast("type[Op[Any]]", cls), name)
    _OPS[name] = cls()
    for listener in _LISTENERS:
        listener()
    return cls


def get_op(name: str) -> Op[Any]:
    try:
        return _OPS[name]
    except KeyError:
        known = ", ".join(sorted(_OPS))
        raise RegistryError(f"op: expected one of {known}, got {name!r}") from None


def registered_ops() -> dict[str, Op[Any]]:
    """A copy of the registry, name -> op, in registration order."""
    return dict(_OPS)
