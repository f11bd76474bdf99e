"""Checking a batch against its contract.

Structural checks (tensor count, shape, bindings, dtype, device, memory format) only read
metadata and cost microseconds, so the loader can run them on every batch. Value-range checks
read data: ``values="full"`` is one min/max pass over every element, ``"strided"`` reads a fixed
number of elements (about 64k, spread by a prime stride so they land in every channel and row),
``"first"`` reads the first sample of the batch. See ``benchmarks/bench_contracts.py``.

torch is never imported here: a batch that holds torch tensors has imported it already, so
``sys.modules`` tells whether a value can be one. That keeps the pytest plugin cheap to load.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

from ..errors import ContractViolation
from .model import FLOAT_DTYPES, BatchContract, TensorSpec
from .tensors import (
    _INT_DOMAIN,
    ValuesMode,
    _channels_last,
    _contiguous,
    _kind,
    _min_max,
    _sample,
    _strides,
)

CheckMode = Literal["off", "first", "every"]

_EPS = {"float16": 2.0**-10, "bfloat16": 2.0**-7, "float32": 2.0**-23, "float64": 2.0**-52}


def _num(value: float) -> str:
    return f"{value:.7g}"


def _range(lo: float, hi: float) -> str:
    return f"[{_num(lo)}, {_num(hi)}]"


@dataclass(frozen=True)
class _TensorPlan:
    """A tensor spec flattened into what the hot path compares (built once per contract)."""

    name: str
    ndim: int
    shape_str: str
    dims: tuple[tuple[int, str | None, int | None, str], ...]  # (index, name, size, label)
    dtype: str
    device: str
    memory_format: str
    value_range: tuple[float, float] | None
    tol: float
    nullable: bool
    #: For a list output: the plan of one element (dims[1:]); ``None`` for a tensor.
    element: _TensorPlan | None = None
    #: Values must not exceed the size bound to this symbol (``TensorSpec.at_most``).
    at_most: str | None = None

    @classmethod
    def of(cls, spec: TensorSpec) -> _TensorPlan:
        value_range = spec.value_range
        domain = _INT_DOMAIN.get(spec.dtype)
        if spec.dtype == "bool" or (
            value_range is not None
            and domain is not None
            and value_range[0] <= domain[0]
            and value_range[1] >= domain[1]
        ):
            # Every value the dtype can hold is in range: reading the data would prove nothing.
            value_range = None
        tol = 0.0
        if value_range is not None and spec.dtype in FLOAT_DTYPES:
            # The bound is exact (float64) but the data was computed in the tensor's dtype.
            tol = 8 * _EPS[spec.dtype] * max(1.0, abs(value_range[0]), abs(value_range[1]))
        if spec.container == "list":
            inner = spec.model_copy(update={"dims": spec.dims[1:], "container": "tensor"})
            inner = inner.model_copy(update={"layout": spec.layout[1:] if spec.layout else None})
            element = cls.of(inner)
            return cls(
                name=spec.name,
                ndim=1,
                shape_str=spec.shape_str,
                dims=((0, spec.dims[0].name, spec.dims[0].size, str(spec.dims[0])),),
                dtype=spec.dtype,
                device=spec.device,
                memory_format="any",
                value_range=None,
                tol=0.0,
                nullable=spec.nullable,
                element=element,
            )
        return cls(
            name=spec.name,
            ndim=spec.ndim,
            shape_str=spec.shape_str,
            dims=tuple(
                (i, d.name, d.size, str(d))
                for i, d in enumerate(spec.dims)
                if d.name is not None or d.size is not None
            ),
            dtype=spec.dtype,
            device=spec.device,
            memory_format=spec.memory_format,
            value_range=value_range,
            tol=tol,
            nullable=spec.nullable,
            at_most=spec.at_most,
        )


_PLANS: dict[int, tuple[BatchContract, tuple[_TensorPlan, ...]]] = {}


def _plan(contract: BatchContract) -> tuple[_TensorPlan, ...]:
    # Keyed by identity: hashing a frozen model walks every field (a third of a check's cost).
    # The entry holds the contract, so its id cannot be reused while cached.
    hit = _PLANS.get(id(contract))
    if hit is not None and hit[0] is contract:
        return hit[1]
    if len(_PLANS) >= 64:
        _PLANS.clear()
    plans = tuple(_TensorPlan.of(t) for t in contract.tensors)
    _PLANS[id(contract)] = (contract, plans)
    return plans


@lru_cache(maxsize=1)
def _torch_dtype_names(torch: Any) -> dict[Any, str]:
    names: tuple[str, ...] = ("bool", "uint8", "int8", "int16", "int32", "int64")
    names += ("float16", "bfloat16", "float32", "float64")
    return {getattr(torch, n): n for n in names}


class _Report:
    """Raise on the first violation (``errors is None``) or collect them all."""

    __slots__ = ("errors",)

    def __init__(self, collect: bool):
        self.errors: list[str] | None = [] if collect else None

    def __call__(self, message: str) -> None:
        if self.errors is None:
            raise ContractViolation(message)
        self.errors.append(message)


def _names(plans: tuple[_TensorPlan, ...]) -> str:
    return ", ".join(p.name for p in plans)


def _pairs(
    batch: Any, plans: tuple[_TensorPlan, ...], report: _Report
) -> list[tuple[_TensorPlan, Any]]:
    if isinstance(batch, Mapping):
        if set(batch) != {p.name for p in plans}:
            got = ", ".join(str(k) for k in batch) or "no tensors"
            report(f"batch: expected tensors {_names(plans)}, got {got}")
        return [(p, batch[p.name]) for p in plans if p.name in batch]
    if isinstance(batch, (tuple, list)):
        if len(batch) != len(plans):
            report(f"batch: expected {len(plans)} tensors ({_names(plans)}), got {len(batch)}")
            return []
        return list(zip(plans, batch, strict=True))
    if len(plans) == 1 and _kind(batch) is not None:
        return [(plans[0], batch)]
    kind = type(batch).__name__
    report(f"batch: expected a tuple or dict of tensors ({_names(plans)}), got {kind}")
    return []


def _check_tensor(
    p: _TensorPlan,
    x: Any,
    bound: dict[str, tuple[int, str]],
    values: ValuesMode,
    offset: int,
    report: _Report,
) -> None:
    if x is None:
        if not p.nullable:
            report(f"{p.name}: expected a tensor, got None")
        return
    if p.element is not None:
        _check_list(p, x, bound, values, offset, report)
        return
    kind = _kind(x)
    if kind is None:
        report(f"{p.name}: expected a torch.Tensor or numpy.ndarray, got {type(x).__name__}")
        return
    shape = tuple(x.shape)
    if len(shape) != p.ndim:
        got = "(" + ", ".join(str(s) for s in shape) + ")"
        report(f"{p.name}.ndim: expected {p.ndim} {p.shape_str}, got {len(shape)} {got}")
        return
    for i, name, size, label in p.dims:
        got_size = shape[i]
        if size is not None and got_size != size:
            report(f"{p.name}.dims[{i}]: expected {label}, got {got_size}")
        elif name is not None:
            first = bound.setdefault(name, (got_size, f"{p.name}.dims[{i}]"))
            if first[0] != got_size:
                report(
                    f"{p.name}.dims[{i}]: expected {name}={first[0]} (bound by {first[1]}), "
                    f"got {got_size}"
                )
    if kind == "torch":
        dtype = _torch_dtype_names(sys.modules["torch"]).get(x.dtype) or str(x.dtype)
        device = x.device.type
    else:
        dtype, device = x.dtype.name, "cpu"
    if dtype != p.dtype:
        report(f"{p.name}.dtype: expected {p.dtype}, got {dtype}")
        return  # a value check in the wrong dtype would only repeat the problem
    if p.device != "any" and device != p.device:
        report(f"{p.name}.device: expected {p.device}, got {device}")
    if p.memory_format != "any":
        contiguous, channels_last = _contiguous(x, kind), _channels_last(x, kind)
        ok = contiguous if p.memory_format == "contiguous" else channels_last
        if not ok:
            if contiguous or channels_last:
                got = "contiguous" if contiguous else "channels_last"
            else:
                got = f"strides {_strides(x, kind)}"
            report(f"{p.name}.memory_format: expected {p.memory_format}, got {got}")
    if p.at_most is not None:
        _check_at_most(p, x, p.at_most, bound, report)
    if values != "off" and p.value_range is not None:
        _check_values(p, x, kind, values, offset, report)


def _check_values(
    p: _TensorPlan, x: Any, kind: str, values: ValuesMode, offset: int, report: _Report
) -> None:
    """The value range over the elements ``values`` picks."""
    assert p.value_range is not None
    sample, note = _sample(x, kind, values, offset)
    if sample.size == 0 if kind == "numpy" else sample.numel() == 0:
        return
    lo, hi = _min_max(sample, kind)
    want_lo, want_hi = p.value_range
    if lo != lo or hi != hi:  # NaN: no comparison below would catch it
        report(f"{p.name}.value_range: expected {_range(want_lo, want_hi)}, got nan{note}")
    elif lo < want_lo - p.tol or hi > want_hi + p.tol:
        report(
            f"{p.name}.value_range: expected {_range(want_lo, want_hi)}, got {_range(lo, hi)}{note}"
        )


def _check_at_most(
    p: _TensorPlan, x: Any, symbol: str, bound: dict[str, tuple[int, str]], report: _Report
) -> None:
    """Lengths against the padded size they index: cheap (one value per sample)."""
    limit = bound.get(symbol)
    if limit is None or x.shape[0] == 0:
        return
    top = int(x.max())
    if top > limit[0]:
        report(f"{p.name}: expected values <= {symbol}={limit[0]} (bound by {limit[1]}), got {top}")


def _check_list(
    p: _TensorPlan,
    x: Any,
    bound: dict[str, tuple[int, str]],
    values: ValuesMode,
    offset: int,
    report: _Report,
) -> None:
    """A list output: its length binds dims[0]; each element is checked on its own."""
    if not isinstance(x, (list, tuple)):
        report(f"{p.name}: expected a list of tensors, got {type(x).__name__}")
        return
    _, name, size, label = p.dims[0]
    if size is not None and len(x) != size:
        report(f"{p.name}: expected {label} tensors, got {len(x)}")
    elif name is not None:
        first = bound.setdefault(name, (len(x), f"{p.name} (list length)"))
        if first[0] != len(x):
            expected = f"{name}={first[0]} tensors (bound by {first[1]})"
            report(f"{p.name}: expected {expected}, got {len(x)}")
    inner = p.element
    if inner is None:
        return
    for k, item in enumerate(x):
        element = replace(inner, name=f"{p.name}[{k}]")
        # Symbols inside an element (K boxes) vary per sample: bind them per element only.
        _check_tensor(element, item, dict(bound), values, offset, report)


def _run(
    batch: Any, contract: BatchContract, values: ValuesMode, offset: int, report: _Report
) -> None:
    if values not in ("off", "first", "strided", "full"):
        raise ValueError(f"values: expected off, first, strided or full, got {values!r}")
    bound: dict[str, tuple[int, str]] = {}
    for p, x in _pairs(batch, _plan(contract), report):
        _check_tensor(p, x, bound, values, offset, report)


def check_batch(batch: Any, contract: BatchContract, *, values: ValuesMode = "off") -> None:
    """Raise :class:`ContractViolation` at the first way ``batch`` breaks ``contract``.

    ``batch`` is a tuple/list (in contract order) or a dict (by name) of torch tensors or numpy
    arrays; a one-tensor contract also takes the bare tensor. ``values`` picks the value-range
    check: ``"off"`` (structure only), ``"first"`` (the batch's first sample), ``"strided"``
    (about 64k elements spread over the whole batch) or ``"full"`` (every element).
    """
    _run(batch, contract, values, 0, _Report(collect=False))


def violations(batch: Any, contract: BatchContract, *, values: ValuesMode = "full") -> list[str]:
    """Every way ``batch`` breaks ``contract`` (empty when it conforms), one message each."""
    report = _Report(collect=True)
    _run(batch, contract, values, 0, report)
    return report.errors or []


class ContractChecker:
    """The loader's check policy over an epoch.

    ``check="first"`` checks the first batch of each epoch, values included (``first_values``);
    ``"every"`` does that and then checks every later batch with ``values`` (strided by default,
    the sample moving from batch to batch so the whole tensor gets covered over time); ``"off"``
    checks nothing. A violation's message ends with ``(epoch E, batch B)``.
    """

    def __init__(
        self,
        contract: BatchContract,
        *,
        check: CheckMode = "first",
        values: ValuesMode = "strided",
        first_values: ValuesMode = "full",
    ):
        if check not in ("off", "first", "every"):
            raise ValueError(f"check: expected off, first or every, got {check!r}")
        self.contract = contract
        self.check = check
        self.values = values
        self.first_values = first_values
        self.epoch = 0
        self.batch = 0
        self.checked = 0

    def start_epoch(self, epoch: int | None = None) -> None:
        """Call before the first batch of an epoch (the first batch gets checked again)."""
        self.epoch = self.epoch + 1 if epoch is None else epoch
        self.batch = 0

    def __call__(self, batch: Any) -> Any:
        """Check ``batch`` if the policy says so; return it unchanged (handy in a generator)."""
        index = self.batch
        self.batch += 1
        if self.check == "off" or (self.check == "first" and index > 0):
            return batch
        values = self.first_values if index == 0 else self.values
        try:
            # A prime step moves the strided sample's start to a new element on every batch.
            _run(batch, self.contract, values, index * 7919, _Report(collect=False))
        except ContractViolation as exc:
            raise ContractViolation(f"{exc} (epoch {self.epoch}, batch {index})") from None
        self.checked += 1
        return batch
