"""Hypothesis strategies over a contract: conforming batches and near misses.

Test a model's forward pass against a loader's contract without loading data::

    from hypothesis import given
    from dali_pipelines.contracts import load_contract
    from dali_pipelines.contracts.strategies import batches

    @given(batches(load_contract("imagenet_val"), max_n=2))
    def test_forward(batch):
        images, labels = batch
        assert model(images).shape == (images.shape[0], 1000)

Symbols are drawn small (``N`` up to ``max_n``, other symbols up to ``max_side``); fixed dims
keep their size. Element values come from a seeded NumPy generator rather than from Hypothesis
draws: a 224x224 image is 150k elements, too many to draw one by one, and shrinking values is
of little use here. Range bounds themselves are included so edge values get exercised.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any, Literal

try:
    from hypothesis import note
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as exc:  # pragma: no cover - exercised by a test that hides hypothesis
    raise ImportError(
        "dali_pipelines.contracts.strategies needs Hypothesis, which the 'testing' extra "
        "installs: pip install 'dali-pipelines[testing]'"
    ) from exc

import numpy as np

from .model import FLOAT_DTYPES, BatchContract, TensorSpec
from .tensors import _INT_DOMAIN, _channels_last, _contiguous

Library = Literal["torch", "numpy"]
Batch = Any  # a tuple, or a dict when as_dict=True
_OTHER_DTYPES = ("uint8", "int32", "int64", "float16", "float32", "float64")


def _torch() -> Any:
    import torch

    return torch


def _validate(contract: BatchContract, library: Library, max_n: int, max_side: int) -> None:
    if library not in ("torch", "numpy"):
        raise InvalidArgument(f"library: expected torch or numpy, got {library!r}")
    if max_n < 1 or max_side < 1:
        raise InvalidArgument(f"max_n, max_side: expected >= 1, got {max_n}, {max_side}")
    for t in contract.tensors:
        if t.device == "cuda" and (library == "numpy" or not _torch().cuda.is_available()):
            raise InvalidArgument(
                f"{t.name}.device: expected a device this machine has, got cuda; "
                "test with contract.with_device('cpu')"
            )
        if t.dtype == "bfloat16" and library == "numpy":
            raise InvalidArgument(f"{t.name}.dtype: bfloat16 needs library='torch'")


def _int_bounds(t: TensorSpec) -> tuple[int, int]:
    if t.value_range is None:
        return 0, 99  # class indices, mostly
    return math.ceil(t.value_range[0]), math.floor(t.value_range[1])


def _values(t: TensorSpec, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """float64/int64/bool values in the contract's range (numpy has no bfloat16)."""
    if t.dtype == "bool":
        return rng.random(shape) < 0.5
    if t.dtype in FLOAT_DTYPES:
        lo, hi = t.value_range if t.value_range is not None else (-3.0, 3.0)
        lo, hi = max(lo, -6e4), min(hi, 6e4)  # stay finite in float16 (max 65504)
        out = rng.uniform(lo, hi, shape)
        if out.size >= 2:  # the bounds themselves are legal values
            out.flat[0], out.flat[-1] = lo, hi
        return out
    lo, hi = _int_bounds(t)
    return rng.integers(lo, hi, shape, endpoint=True)


def _make(
    t: TensorSpec, shape: tuple[int, ...], rng: np.random.Generator, library: Library, cl: bool
) -> Any:
    values = _values(t, shape, rng)
    if library == "numpy":
        arr = values.astype(t.dtype)
        if cl:
            return np.ascontiguousarray(arr.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        return arr
    torch = _torch()
    x = torch.from_numpy(values).to(getattr(torch, t.dtype))
    if cl:
        x = x.contiguous(memory_format=torch.channels_last)
    return x.cuda() if t.device == "cuda" else x


@st.composite
def _tensors(
    draw: st.DrawFn, contract: BatchContract, max_n: int, max_side: int, library: Library
) -> tuple[list[Any], dict[str, int]]:
    sizes: dict[str, int] = {}
    for t in contract.tensors:
        for i, d in enumerate(t.dims):
            if d.name is not None and d.name not in sizes:
                top = max_n if i == 0 else max_side  # a leading symbol is the batch
                sizes[d.name] = d.size if d.size is not None else draw(st.integers(1, top))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out: list[Any] = []
    for t in contract.tensors:
        if t.nullable and draw(st.booleans()):
            out.append(None)
            continue
        # Named dims (symbols and named fixed sizes) take their bound size; * draws its own.
        shape = tuple(
            sizes[d.name]
            if d.name is not None
            else d.size
            if d.size is not None
            else draw(st.integers(1, max_side))
            for d in t.dims
        )
        cl = t.memory_format == "channels_last" or (
            t.memory_format == "any" and t.ndim == 4 and draw(st.booleans())
        )
        made = _make(t, shape, rng, library, cl)
        # A list output (per-sample sizes): here every element has the same shape.
        out.append(list(made) if t.container == "list" else made)
    return out, sizes


def _pack(contract: BatchContract, tensors: list[Any], as_dict: bool) -> Batch:
    return dict(zip(contract.names, tensors, strict=True)) if as_dict else tuple(tensors)


def batches(
    contract: BatchContract,
    *,
    max_n: int = 4,
    max_side: int = 8,
    library: Library = "torch",
    as_dict: bool = False,
) -> st.SearchStrategy[Batch]:
    """Batches that satisfy ``contract`` (``check_batch(batch, contract, values="full")``).

    A tuple in contract order, or a dict by name with ``as_dict=True``; torch tensors, or numpy
    arrays with ``library="numpy"``.
    """
    _validate(contract, library, max_n, max_side)
    return _tensors(contract, max_n, max_side, library).map(
        lambda drawn: _pack(contract, drawn[0], as_dict)
    )


# -- near misses ---------------------------------------------------------------------------------
Mutation = Callable[[list[Any]], list[Any]]


def _change(tensors: list[Any], *, index: int, change: Callable[[Any], Any]) -> list[Any]:
    return [change(x) if i == index else x for i, x in enumerate(tensors)]


def _drop_last(tensors: list[Any]) -> list[Any]:
    return tensors[:-1]


def _add_extra(tensors: list[Any]) -> list[Any]:
    return [*tensors, tensors[0]]


def _constant(x: Any, *, value: Any) -> Any:
    return value


def _add_dim(x: Any) -> Any:
    return x[None]


def _remake(
    x: Any,
    *,
    t: TensorSpec,
    shape: tuple[int, ...],
    rng: np.random.Generator,
    library: Library,
    cl: bool,
) -> Any:
    return _make(t, shape, rng, library, cl)


def _cast(x: Any, *, dtype: str) -> Any:
    if isinstance(x, np.ndarray):
        return x.astype(dtype)
    return x.to(getattr(_torch(), dtype))


def _restrided(x: Any, *, t: TensorSpec) -> Any | None:
    """The same values in a memory order that breaks ``t``, or None when every order fits."""
    kind = "numpy" if isinstance(x, np.ndarray) else "torch"
    if t.memory_format == "channels_last":
        y = np.ascontiguousarray(x) if kind == "numpy" else x.contiguous()
        return None if _channels_last(y, kind) else y
    # Every other element of a buffer twice as large: same shape and values, gaps in memory.
    big = np.empty((*x.shape, 2), x.dtype) if kind == "numpy" else x.new_empty((*x.shape, 2))
    big[..., 0] = x
    y = big[..., 0]
    return None if _contiguous(y, kind) else y


def _out_of_range(x: Any, *, t: TensorSpec, use_nan: bool) -> Any:
    assert t.value_range is not None
    lo, hi = t.value_range
    bad: float
    if t.dtype in FLOAT_DTYPES:
        bad = math.nan if use_nan else hi + max(1.0, abs(hi))
    else:
        # The range leaves part of the dtype's domain out (else it is not checked): use it.
        top = _INT_DOMAIN[t.dtype][1]
        bad = math.floor(hi) + 1 if math.floor(hi) < top else math.ceil(lo) - 1
    y = x.copy() if isinstance(x, np.ndarray) else x.clone()
    y[(0,) * y.ndim] = bad
    return y


def _as_list(x: Any) -> list[Any]:
    # A real list of the values for small tensors; a token one for large (tolist is slow).
    size = x.size if isinstance(x, np.ndarray) else x.numel()
    return x.tolist() if size < 4096 else [0.0]  # type: ignore[no-any-return,unused-ignore]


@st.composite
def _violating(
    draw: st.DrawFn,
    contract: BatchContract,
    max_n: int,
    max_side: int,
    library: Library,
    as_dict: bool,
    values: bool,
) -> Batch:
    from .check import _plan

    tensors, sizes = draw(_tensors(contract, max_n, max_side, library))
    specs = contract.tensors
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Mutations are grouped by kind and built lazily: a kind is drawn first (so the many dtype
    # variants do not crowd out the rest), and only the drawn one allocates a tensor.
    kinds: dict[str, list[tuple[str, Mutation]]] = {
        "count": [("a tensor missing", _drop_last), ("an extra tensor", _add_extra)]
    }

    def add(kind: str, label: str, index: int, change: Callable[[Any], Any]) -> None:
        kinds.setdefault(kind, []).append((label, partial(_change, index=index, change=change)))

    present = [s for s, y in zip(specs, tensors, strict=True) if y is not None]
    for i, (t, x) in enumerate(zip(specs, tensors, strict=True)):
        if x is None:
            add("type", f"{t.name} a list", i, partial(_constant, value=[1, 2]))
            continue
        if not t.nullable:
            add("type", f"{t.name} None", i, partial(_constant, value=None))
        if t.container == "list":  # the element checks are the tensor rules again
            add("type", f"{t.name} a tensor", i, partial(_constant, value=np.zeros(1)))
            continue
        add("type", f"{t.name} a list", i, _as_list)
        add("ndim", f"{t.name} one dim more", i, _add_dim)
        for dtype in _OTHER_DTYPES:
            if dtype != t.dtype:
                add("dtype", f"{t.name} {dtype}", i, partial(_cast, dtype=dtype))
        for k, d in enumerate(t.dims):
            shared = (
                d.name is not None and sum(e.name == d.name for s in present for e in s.dims) > 1
            )
            if d.size is None and not shared:
                continue  # a lone symbol or * takes any size: nothing to break
            shape = list(x.shape)
            shape[k] += 1
            cl = t.memory_format == "channels_last"
            remake = partial(_remake, t=t, shape=tuple(shape), rng=rng, library=library, cl=cl)
            add("dims", f"{t.name}.dims[{k}] = {shape[k]}", i, remake)
        if t.memory_format != "any" and _restrided(x, t=t) is not None:
            add("memory", f"{t.name} strides", i, partial(_restrided, t=t))
        if values and _plan(contract)[i].value_range is not None:
            for nan in (False, True) if t.dtype in FLOAT_DTYPES else (False,):
                label = f"{t.name} {'nan' if nan else 'out of range'}"
                add("values", label, i, partial(_out_of_range, t=t, use_nan=nan))
    options = kinds[draw(st.sampled_from(sorted(kinds)))]
    label, mutate = draw(st.sampled_from(options))
    note(f"violation: {label} (symbols {sizes})")
    mutated = mutate(tensors)
    if as_dict:
        names = contract.names
        batch = {n: v for n, v in zip(names, mutated, strict=False)}
        if len(mutated) > len(names):
            batch["extra"] = mutated[-1]
        return batch
    return tuple(mutated)


def violating_batches(
    contract: BatchContract,
    *,
    max_n: int = 4,
    max_side: int = 8,
    library: Library = "torch",
    as_dict: bool = False,
    values: bool = True,
) -> st.SearchStrategy[Batch]:
    """Near misses: a conforming batch with exactly one thing wrong.

    A tensor missing or extra, ``None`` or a list instead of a tensor, one dim too many, one
    fixed or bound dim off by one, another dtype, another memory order, or (with ``values``) one
    element out of range or NaN. Each fails ``check_batch(batch, contract, values="full")``;
    with ``values=False`` each also fails with ``values="off"``.
    """
    _validate(contract, library, max_n, max_side)
    return _violating(contract, max_n, max_side, library, as_dict, values)
