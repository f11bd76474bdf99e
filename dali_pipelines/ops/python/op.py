"""python: a Python stage in the chain, a registered op (by name) or an in-process callable.

A spec names a Python op registered in code with
:func:`~dali_pipelines.register_python_op`; it never imports a dotted path. Translating a
torchvision ``Compose`` keeps what DALI cannot run (a lambda, a user class) as an in-process
stage on the op: the spec runs but cannot be dumped unless that callable is registered by name.

Every backend runs the same callable on the same input, so the op is exact by construction.
``draw`` hands each sample a seed from its (seed, epoch, index) generator; the callable gets
``numpy.random.default_rng(seed)`` (or, without an ``rng`` parameter, seeded global RNGs). In a
DALI graph it is ``fn.python_function``, which holds the GIL; the planner may instead run the
stage in worker processes (:mod:`dali_pipelines.plan.placement`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import (
    Field,
    SerializationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from ..base import Args, DaliContext, Op, OpParams, Size, register_op
from ..state import ChainError, Dtype, ImageState

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .registry import Accepts, OutputRule
    from .stage import StageCall

#: Serialization context key under which an in-process stage dumps as its origin (fingerprints).
FINGERPRINT_CONTEXT = "fingerprint"


class PythonParams(OpParams):
    op: Literal["python"] = "python"
    #: The name the op was registered under (``register_python_op``); a spec never imports code.
    name: str = Field(min_length=1)
    #: Keyword arguments of the registered op: its constructor's (a class) or the function's.
    params: dict[str, Any] = Field(default_factory=dict)
    #: An in-process callable (set by ``from_torchvision``, never in a file): runs, never dumps.
    stage: Any = Field(default=None, exclude=True, repr=False)

    @field_validator("stage", mode="before")
    @classmethod
    def _in_process_only(cls, value: Any) -> Any:
        from .stage import InProcessStage

        if value is not None and not isinstance(value, InProcessStage):
            # Only from_torchvision sets it, in code: a spec file can never name code to run.
            raise ValueError(f"stage: expected no value in a spec, got {type(value).__name__}")
        return value

    @model_validator(mode="after")
    def _resolvable(self) -> PythonParams:
        try:
            json.dumps(self.params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"params: expected JSON values, got {exc}") from None
        if self.stage is not None:
            return self
        from ...errors import RegistryError
        from .registry import get_python_op

        try:
            info = get_python_op(self.name)
        except RegistryError as exc:
            raise ValueError(f"name: {exc}") from None
        try:
            info.check_params(self.params)
        except TypeError as exc:
            raise ValueError(f"params: do not fit python op {self.name!r}: {exc}") from None
        return self

    @property
    def in_process(self) -> bool:
        return self.stage is not None

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any, info: SerializationInfo) -> Any:
        if self.stage is None:
            return handler(self)
        if not (info.context or {}).get(FINGERPRINT_CONTEXT):
            raise ValueError(in_process_message(self))
        # Identify the callable by where it is defined: stable across processes (resume).
        return {**handler(self), "in_process": self.stage.origin}


def in_process_message(p: PythonParams) -> str:
    where = "" if p.stage.position is None else f" (transform {p.stage.position} of the Compose)"
    return (
        f"python stage {p.name!r}{where} holds an in-process callable and cannot be dumped; "
        f'register it by name (register_python_op("{p.name}", ...)) and translate again'
    )


@dataclass(frozen=True)
class Resolved:
    """What a Python op runs: the callable and its declarations."""

    label: str
    call: Any
    accepts: Accepts
    takes_rng: bool
    output: OutputRule
    placement: str


def resolve(p: PythonParams) -> Resolved:
    """The callable behind ``p`` (a registered class is instantiated with ``p.params``)."""
    if p.stage is not None:
        s = p.stage
        return Resolved(p.name, s.call, s.accepts, s.takes_rng, s.output, "auto")
    from .registry import get_python_op

    info = get_python_op(p.name)
    call = info.instantiate(p.params)
    return Resolved(p.name, call, info.accepts, info.takes_rng, info.output, info.placement)


def declared(p: PythonParams) -> tuple[Accepts, OutputRule, str]:
    """(accepts, output rule, placement) without instantiating anything."""
    if p.stage is not None:
        return p.stage.accepts, p.stage.output, "auto"
    from .registry import get_python_op

    info = get_python_op(p.name)
    return info.accepts, info.output, info.placement


def stage_call(p: PythonParams, state_in: ImageState) -> StageCall:
    from .stage import StageCall

    r = resolve(p)
    expected = PYTHON_OP.infer(p, state_in)
    return StageCall(r.label, r.call, r.accepts, r.takes_rng, expected, r.output)


def _state_of(image: np.ndarray) -> ImageState:
    dtype: Dtype = "uint8" if image.dtype == np.uint8 else "float32"
    return ImageState(channels=image.shape[2], dtype=dtype)


@register_op
class PythonOp(Op[PythonParams]):
    name = "python"
    Params = PythonParams
    random = True
    dali_operator = "fn.python_function (inline), or worker processes (see docs/hybrid.md)"
    torchvision_name = "the registered callable itself"
    tolerance = "exact (every backend runs the same callable on the same pixels)"
    dali_gpu = False
    batchable = False
    size_free = False
    #: The DALI builder needs the sample index (``args["index"]``) to name a failing sample.
    needs_sample_index = True
    box_rule = "refuse"  # what a callable does to positions is unknown
    fuses_output = False
    fuses_decode = False
    torchvision_classes = ()  # a transform kept in Python becomes this op by translation itself

    def infer(self, p: PythonParams, state: ImageState) -> ImageState:
        accepts, rule, _ = declared(p)
        if state.dtype not in ("uint8", "float32"):
            raise ChainError("input", "uint8 or float32 pixels for a Python stage", state.dtype)
        if accepts == "pil" and (state.dtype != "uint8" or state.channels not in (1, 3)):
            raise ChainError(
                "input", "uint8 with 1 or 3 channels for a PIL stage", f"{state.dtype}"
            )
        return rule.apply(state)

    def arg_names(self, p: PythonParams) -> tuple[str, ...]:
        return ("seed",)

    def draw(self, p: PythonParams, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        seed = np.array(rng.integers(0, 2**63 - 1), dtype=np.int64)
        _, rule, _ = declared(p)
        # "varies": unknown until it runs; the planner then runs later size-dependent ops per
        # sample after the stage, drawing with the real size.
        out = rule.out_size(size)
        return {"seed": seed}, size if out is None else out

    def build_dali(
        self, p: PythonParams, image: Any, args: Mapping[str, Any], ctx: DaliContext
    ) -> Any:
        import nvidia.dali.fn as fn

        from .stage import run_inline

        if ctx.device != "cpu":
            raise ChainError("device", "cpu for an inline Python stage", ctx.device)
        call = functools.partial(run_inline, stage_call(p, ctx.state))
        return fn.python_function(
            image,
            args["seed"],
            args["index"],
            function=call,
            num_outputs=1,
            output_layouts="HWC",
            device="cpu",
        )

    def apply_torch(self, p: PythonParams, image: Any, args: Args) -> Any:
        import torch

        hwc = image.permute(1, 2, 0).contiguous().numpy()
        out = stage_call(p, _state_of(hwc))(hwc, int(args["seed"]))
        return torch.from_numpy(out).permute(2, 0, 1)

    def torchvision(self, p: PythonParams) -> Any:
        return TorchvisionStage(p)


class TorchvisionStage:
    """The stage as a torchvision-style transform on a CHW tensor (the reference backend).

    Its seed comes from torch's RNG, which the reference backend's workers seed like any
    torchvision transform's draws.
    """

    def __init__(self, p: PythonParams):
        self.p = p
        self._calls: dict[tuple[int, str], StageCall] = {}

    def __call__(self, image: Any) -> Any:
        import torch
        from torchvision import tv_tensors

        from .stage import StageFailure, failure_error

        hwc = image.permute(1, 2, 0).contiguous().numpy()
        key = (hwc.shape[2], str(hwc.dtype))
        if key not in self._calls:
            self._calls[key] = stage_call(self.p, _state_of(hwc))
        seed = int(torch.randint(0, 2**62, ()).item())
        try:
            out = self._calls[key].run(hwc, seed, None)
        except StageFailure as failure:
            raise failure_error(failure, None)  # noqa: B904 (chained by failure_error)
        return tv_tensors.Image(torch.from_numpy(out).permute(2, 0, 1))

    def __repr__(self) -> str:
        return f"PythonStage({self.p.name!r})"


PYTHON_OP = PythonOp()
