"""``from_torchvision``: a torchvision Compose (v2 or v1) as a PipelineSpec, nothing dropped.

Every transform with a spec op (and arguments it supports) becomes that op; anything else (a
lambda, a user class, an unsupported argument value) becomes an in-process Python stage at its
position, receiving what the transform received there in torchvision: a PIL image before
``ToImage``/``PILToTensor``/``ToTensor``, a tensor after. Where the DALI op computes
differently from torchvision the record says how, and ``strict=True`` keeps such transforms in
Python (running the original transform).

What a stage returns (size rule, dtype, channels) is learned by running the transforms on two
small synthetic images of different shapes, with the global RNGs seeded; a stage that cannot
be probed is assumed to keep its input's state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import SpecError
from ..ops import get_op
from ..ops.python.op import PythonParams
from ..ops.python.registry import Accepts, OutputRule, find_registered, takes_rng
from ..ops.python.stage import InProcessStage, seeded_globals, to_hwc
from ..ops.state import ImageState
from ..plan import make_plan
from ..spec.models import PipelineSpec
from .rules import Mapped, Unsupported, map_transform

PROBE_SIZES = ((72, 96), (96, 60))  # (height, width) of the two probe images


@dataclass(frozen=True)
class Record:
    """What became of one transform of the Compose."""

    position: int
    transform: str
    #: "op" (spec ops), "python" (a Python stage), "none" (a type conversion the pipeline
    #: does implicitly, e.g. ToImage).
    status: str
    #: Indices of the spec ops it became.
    ops: tuple[int, ...]
    #: How the op computes differently from torchvision, or why it stays in Python.
    note: str = ""


@dataclass(frozen=True)
class Translation:
    spec: PipelineSpec
    records: tuple[Record, ...] = field(default_factory=tuple)


def flatten(transform: Any) -> list[Any]:
    """The transforms of a (nested) Compose, a list, or a single transform, in order."""
    if isinstance(transform, list | tuple):
        return [t for item in transform for t in flatten(item)]
    if type(transform).__name__ == "Compose" and hasattr(transform, "transforms"):
        return flatten(list(transform.transforms))
    return [transform]


def describe(t: Any) -> str:
    text = repr(t) if _is_torchvision(t) else _label(t)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_torchvision(t: Any) -> bool:
    return type(t).__module__.startswith("torchvision.transforms")


def _label(t: Any) -> str:
    if hasattr(t, "__name__"):  # functions, lambdas
        return str(t.__name__)
    return type(t).__name__


@dataclass
class _Probe:
    """Outputs of the transforms on the two probe images (``None`` once a transform failed)."""

    values: list[list[Any] | None]
    error: str = ""


def probe(transforms: list[Any]) -> _Probe:
    from PIL import Image

    rng = np.random.default_rng(0)
    chains: list[list[Any]] = [[], []]
    for k, (h, w) in enumerate(PROBE_SIZES):
        x: Any = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        chains[k].append(x)
        for t in transforms:
            try:
                with seeded_globals(k):
                    x = t(x)
            except Exception as exc:
                return _Probe(_columns(chains), f"{_label(t)}: {type(exc).__name__}: {exc}")
            chains[k].append(x)
    return _Probe(_columns(chains))


def _columns(chains: list[list[Any]]) -> list[list[Any] | None]:
    n = max(len(c) for c in chains)
    return [[c[i] for c in chains] if all(len(c) > i for c in chains) else None for i in range(n)]


def kind_of(value: Any) -> Accepts:
    if hasattr(value, "getbands"):
        return "pil"
    if type(value).__name__ == "Image" and type(value).__module__.startswith("torchvision"):
        return "image"
    return "tensor"


def _rule(inputs: list[Any] | None, outputs: list[Any] | None) -> tuple[OutputRule, str]:
    if inputs is None or outputs is None:
        return OutputRule(), ""
    try:
        ins = [to_hwc(v) for v in inputs]
        outs = [to_hwc(v) for v in outputs]
    except TypeError as exc:
        return OutputRule(), f"returns a non-image ({exc})"
    sizes_in = [a.shape[:2] for a in ins]
    sizes_out = [a.shape[:2] for a in outs]
    if sizes_in == sizes_out:
        size: Any = "same"
    elif sizes_out[0] == sizes_out[1]:
        size = (int(sizes_out[0][0]), int(sizes_out[0][1]))
    else:
        size = "varies"
    dtype = {np.dtype(np.uint8): "uint8", np.dtype(np.float32): "float32"}.get(outs[0].dtype)
    note = "" if dtype else f"returns {outs[0].dtype} pixels (uint8 or float32 are supported)"
    return OutputRule(size=size, dtype=dtype, channels=int(outs[0].shape[2])), note  # type: ignore[arg-type]


def _stage(
    t: Any, position: int, kind: Accepts, reason: str, ins: Any, outs: Any
) -> tuple[PythonParams, str]:
    info = find_registered(t)
    if info is not None and info.accepts == kind:
        return PythonParams(name=info.name), f"registered as {info.name!r}"
    rule, note = _rule(ins, outs)
    stage = InProcessStage(
        call=t,
        accepts=kind,
        output=rule,
        label=_label(t),
        reason=reason,
        position=position,
        takes_rng=takes_rng(t),
    )
    return PythonParams(name=_label(t), stage=stage), "; ".join(x for x in (reason, note) if x)


def translate(transform: Any, *, strict: bool = False, color: str = "rgb") -> Translation:
    """Translate a torchvision transform; see :func:`from_torchvision`."""
    transforms = flatten(transform)
    probed = probe(transforms)
    ops: list[Any] = []
    records: list[Record] = []
    kind: Accepts = "pil"
    state = ImageState(channels=3 if color == "rgb" else 1)
    for position, t in enumerate(transforms):
        ins = probed.values[position] if position < len(probed.values) else None
        outs = probed.values[position + 1] if position + 1 < len(probed.values) else None
        try:
            if find_registered(t) is not None:  # the user chose it as a named Python op
                raise Unsupported("registered with register_python_op")
            mapped: Mapped = map_transform(t, kind, state)
            if strict and mapped.note and not mapped.exact:
                raise Unsupported(f"strict: the DALI op differs ({mapped.note})")
            for spec_op in mapped.ops:
                params = get_op(spec_op["op"]).Params.model_validate(spec_op)
                reason = get_op(spec_op["op"]).dali_supported(params, "cpu")
                if reason:
                    raise Unsupported(reason)
            new_state = state
            for spec_op in mapped.ops:
                op = get_op(spec_op["op"])
                new_state = op.infer(op.Params.model_validate(spec_op), new_state)
        except Unsupported as why:
            params, note = _stage(t, position, kind, str(why), ins, outs)
            kind = kind_of(outs[0]) if outs is not None else kind
            state = get_op("python").infer(params, state)
            records.append(Record(position, describe(t), "python", (len(ops),), note))
            ops.append(params)
            continue
        except (ValueError, SpecError) as exc:  # arguments our op rejects: keep it in Python
            params, note = _stage(t, position, kind, f"not translatable: {exc}", ins, outs)
            kind = kind_of(outs[0]) if outs is not None else kind
            state = get_op("python").infer(params, state)
            records.append(Record(position, describe(t), "python", (len(ops),), note))
            ops.append(params)
            continue
        indices = tuple(range(len(ops), len(ops) + len(mapped.ops)))
        status = "op" if mapped.ops else "none"
        records.append(Record(position, describe(t), status, indices, mapped.note))
        ops += [get_op(o["op"]).Params.model_validate(o) for o in mapped.ops]
        kind, state = mapped.kind, new_state
    out_dtype = state.dtype
    spec = PipelineSpec(
        decode={"color": color},  # type: ignore[arg-type]
        ops=tuple(ops),
        output={"dtype": out_dtype, "layout": "CHW"},  # type: ignore[arg-type]
    )
    make_plan(spec)  # an impossible chain fails here, naming the op
    return Translation(spec=spec, records=tuple(records))


def from_torchvision(transform: Any, *, strict: bool = False, color: str = "rgb") -> PipelineSpec:
    """A :class:`PipelineSpec` doing what ``transform`` does to a PIL image of a dataset.

    ``transform`` is a ``torchvision.transforms.v2.Compose``, a v1 ``Compose``, a list or one
    transform. Supported transforms become spec ops with their arguments; anything else becomes
    an in-process Python stage at its position (the spec then runs but cannot be dumped, unless
    the callable was registered with ``register_python_op``). ``strict=True`` also keeps in
    Python every transform whose DALI op computes differently (resize filters, ColorJitter's
    rounding); ``assess`` says how each differs. The output is CHW in the dtype the Compose
    ends with (uint8 when it ends on a PIL image).
    """
    return translate(transform, strict=strict, color=color).spec


def spec_from_dataset(dataset: Any) -> PipelineSpec:
    """The drop-in path: translate ``dataset.transform`` (a torchvision ImageFolder's)."""
    transform = getattr(dataset, "transform", None)
    if transform is None:
        raise SpecError(
            "spec: expected a strategy name, a spec file, a dict or a PipelineSpec (or a "
            "dataset whose transform= is a torchvision transform to translate), got None"
        )
    return from_torchvision(transform)
