"""The contract models: dims, one tensor's spec, and a batch of tensors bound by shared symbols.

A dim is written compactly so contract files stay readable and reviewable::

    N       a symbol: any size, but the same size wherever N appears in the batch
    3       a fixed size
    C=3     a fixed size with a name (named dims bind across tensors like symbols)
    *       any size, bound to nothing

The models are frozen and forbid unknown keys like every model of the package, and export a JSON
schema (:func:`contract_json_schema`) so editors can validate contract files.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from typing import Any, Literal

from pydantic import Field, GetJsonSchemaHandler, model_serializer, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from .._model import FrozenModel

SCHEMA_VERSION: Literal[1] = 1

TensorDtype = Literal[
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
]
FLOAT_DTYPES: frozenset[str] = frozenset({"float16", "bfloat16", "float32", "float64"})
Device = Literal["cpu", "cuda", "any"]
MemoryFormat = Literal["contiguous", "channels_last", "any"]

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_DIM_RE = re.compile(
    rf"^(?:(?P<any>\*)|(?P<name>{_IDENT})(?:=(?P<named_size>\d+))?|(?P<size>\d+))$"
)
# The same grammar without named groups, for JSON schema (ECMA-262 regex).
DIM_PATTERN = rf"^(\*|{_IDENT}(=[0-9]+)?|[0-9]+)$"


class Dim(FrozenModel):
    """One dimension: fixed (``size``), a symbol (``name``), both (a named fixed size), or any."""

    name: str | None = Field(default=None, pattern=rf"^{_IDENT}$")
    size: int | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _parse_compact(cls, data: Any) -> Any:
        # Files write dims as "N", 3, "C=3" or "*"; the object form stays accepted for tools.
        if isinstance(data, bool):
            raise ValueError(f"expected a dim like N, 3, C=3 or *, got {data!r}")
        if isinstance(data, int):
            return {"size": data}
        if isinstance(data, str):
            match = _DIM_RE.match(data.strip())
            if match is None:
                raise ValueError(f"expected a dim like N, 3, C=3 or *, got {data!r}")
            if match["any"]:
                return {}
            if match["size"] is not None:
                return {"size": int(match["size"])}
            size = match["named_size"]
            return {"name": match["name"], "size": None if size is None else int(size)}
        return data

    @model_serializer(mode="plain")
    def _serialize(self) -> str | int:
        return self.size if self.name is None and self.size is not None else str(self)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The compact form is what files use; say so instead of the object form.
        return {
            "title": "Dim",
            "description": "N (symbol), 3 (fixed), C=3 (named fixed) or * (any)",
            "anyOf": [
                {"type": "string", "pattern": DIM_PATTERN},
                {"type": "integer", "minimum": 0},
            ],
        }

    @classmethod
    def fixed(cls, size: int, name: str | None = None) -> Dim:
        return cls(name=name, size=size)

    @classmethod
    def symbol(cls, name: str) -> Dim:
        return cls(name=name)

    @classmethod
    def any(cls) -> Dim:
        return cls()

    @property
    def kind(self) -> Literal["fixed", "symbol", "any"]:
        if self.size is not None:
            return "fixed"
        return "symbol" if self.name is not None else "any"

    def __str__(self) -> str:
        if self.size is None:
            return self.name if self.name is not None else "*"
        return str(self.size) if self.name is None else f"{self.name}={self.size}"


class TensorShape(Enum):
    """The standard interfaces, as dim names in order; sizes are given when building a spec."""

    IMAGE_NCHW = ("N", "C", "H", "W")
    IMAGE_NHWC = ("N", "H", "W", "C")
    LABELS_N = ("N",)
    BOXES_N_K_4 = ("N", "K", 4)
    FEATURES_N_D = ("N", "D")

    @property
    def layout(self) -> str | None:
        """Axis letters when every dim is a one-letter name (``NCHW``); ``None`` otherwise."""
        names = self.value
        if all(isinstance(n, str) and len(n) == 1 for n in names):
            return "".join(str(n) for n in names)
        return None

    def dims(self, **sizes: int | None) -> tuple[Dim, ...]:
        """The dims with the given names fixed, e.g. ``IMAGE_NCHW.dims(C=3, H=224, W=224)``."""
        names = {n for n in self.value if isinstance(n, str)}
        unknown = sorted(set(sizes) - names)
        if unknown:
            raise ValueError(f"{self.name}: expected sizes for {sorted(names)}, got {unknown}")
        return tuple(
            Dim(size=n) if isinstance(n, int) else Dim(name=n, size=sizes.get(n))
            for n in self.value
        )


class TensorSpec(FrozenModel):
    """What one tensor of a batch must look like.

    ``value_range`` is the closed interval values may take (``None``: not checked); float tensors
    get a tolerance of a few ulps of the dtype at check time because the bound is computed in
    float64 and the data in the tensor's dtype. ``nullable`` lets the batch hold ``None`` instead.
    """

    # The value_range validator below gives the clearer message for a non-finite bound.
    model_config = {**FrozenModel.model_config, "allow_inf_nan": True}

    name: str = Field(pattern=rf"^{_IDENT}$")
    dims: tuple[Dim, ...]
    dtype: TensorDtype
    layout: str | None = Field(default=None, pattern=r"^[A-Z]*$")
    device: Device = "cpu"
    memory_format: MemoryFormat = "any"
    value_range: tuple[float, float] | None = None
    nullable: bool = False
    #: ``"list"``: the batch holds a list of per-sample tensors (sizes that vary per sample, a
    #: source's ``varying: list`` policy); ``dims[0]`` is the list's length and every element
    #: has ``dims[1:]``, its symbols bound within the element only. Omitted from files when
    #: ``"tensor"``.
    container: Literal["tensor", "list"] = Field(
        default="tensor", exclude_if=lambda value: value == "tensor"
    )
    #: Every value is at most the size bound to this symbol in the batch (audio ``lengths``
    #: <= ``T``, the padded length). Omitted from files when ``None``.
    at_most: str | None = Field(
        default=None, pattern=rf"^{_IDENT}$", exclude_if=lambda value: value is None
    )

    @model_validator(mode="after")
    def _consistent(self) -> TensorSpec:
        if self.layout is not None:
            if len(self.layout) != len(self.dims):
                raise ValueError(
                    f"layout: expected {len(self.dims)} letters (one per dim), got {self.layout!r}"
                )
            if len(set(self.layout)) != len(self.layout):
                raise ValueError(f"layout: expected distinct letters, got {self.layout!r}")
        if self.memory_format == "channels_last" and len(self.dims) != 4:
            raise ValueError(f"memory_format: expected 4 dims for channels_last, got {self.ndim}")
        if self.value_range is not None:
            lo, hi = self.value_range
            # Finite: files are YAML and JSON, and JSON has no infinity.
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ValueError(f"value_range: expected finite lo <= hi, got {self.value_range}")
        return self

    @classmethod
    def from_shape(
        cls, shape: TensorShape, name: str, dtype: TensorDtype, **fields: Any
    ) -> TensorSpec:
        """A spec for a standard interface; dim sizes among ``fields`` (``C=3``) are fixed."""
        names = {n for n in shape.value if isinstance(n, str)}
        sizes = {k: fields.pop(k) for k in list(fields) if k in names}
        return cls(
            name=name,
            dims=shape.dims(**sizes),
            dtype=dtype,
            layout=fields.pop("layout", shape.layout),
            **fields,
        )

    @property
    def ndim(self) -> int:
        return len(self.dims)

    @property
    def sample_ndim(self) -> int:
        """Dims of one sample (without the leading batch dim)."""
        return max(self.ndim - 1, 0)

    @property
    def shape_str(self) -> str:
        return "(" + ", ".join(str(d) for d in self.dims) + ")"


class BatchContract(FrozenModel):
    """An ordered set of tensors; a symbol (or named dim) has one size across the whole batch."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: str | None = None
    tensors: tuple[TensorSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _bindings(self) -> BatchContract:
        seen: set[str] = set()
        for tensor in self.tensors:
            if tensor.name in seen:
                raise ValueError(f"tensors: expected distinct names, got {tensor.name!r} twice")
            seen.add(tensor.name)
        # Two fixed sizes under one name can never both hold: reject the contract itself.
        fixed: dict[str, tuple[int, str]] = {}
        for tensor in self.tensors:
            for i, dim in enumerate(tensor.dims):
                if dim.name is None or dim.size is None:
                    continue
                where = f"{tensor.name}.dims[{i}]"
                first = fixed.setdefault(dim.name, (dim.size, where))
                if first[0] != dim.size:
                    raise ValueError(
                        f"{where}: expected {dim.name}={first[0]} (as in {first[1]}), got {dim}"
                    )
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tensors)

    def tensor(self, name: str) -> TensorSpec:
        for tensor in self.tensors:
            if tensor.name == name:
                return tensor
        raise KeyError(f"contract: expected a tensor among {', '.join(self.names)}, got {name!r}")

    @property
    def symbols(self) -> dict[str, int | None]:
        """Every dim name in order of appearance -> its fixed size (``None`` when it varies)."""
        out: dict[str, int | None] = {}
        for tensor in self.tensors:
            for dim in tensor.dims:
                if dim.name is not None and out.get(dim.name) is None:
                    out[dim.name] = dim.size
        return out

    def with_device(self, device: Device) -> BatchContract:
        """This contract with every tensor on ``device`` (to test a GPU contract on CPU, say)."""
        tensors = tuple(t.model_copy(update={"device": device}) for t in self.tensors)
        return self.model_copy(update={"tensors": tensors})


def contract_json_schema() -> dict[str, Any]:
    """JSON schema of a contract file (validation mode: what a file may contain)."""
    return BatchContract.model_json_schema()
