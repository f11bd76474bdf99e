"""``LoaderConfig``: every ``DataLoader`` argument validated once, torch's spellings mapped in.

The DataLoader builds one of these first, so a wrong argument fails at construction with an
error naming it (``batch_size: expected an int >= 1, got 0``), before any file is read.
torch's names (``num_workers``, ``prefetch_factor``, ``generator``, ...) map to ours through
:mod:`.torch_args`; ``device`` takes torch's spellings (``"cuda"``, ``"cuda:1"``,
``torch.device("cuda", 1)``). The CLI takes its loader options' defaults and help from here.

Importing this module imports neither torch nor DALI.
"""

from __future__ import annotations

import operator
import os
import re
import sys
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

from .._model import FrozenModel
from ..backends.recovery import OnError
from ..contracts.check import CheckMode
from ..data.checks import DEFAULT_MAX_PIXELS
from ..errors import LoaderConfigError
from ..plan.placement import PythonPlacement
from ..spec.io import SpecLike
from ..spec.messages import bounded_repr
from .bucketing import BucketingConfig
from .order import ShuffleAlgorithm
from .torch_args import TORCH_NAMES, map_torch_arguments
from .tuning import ConfigSource, TunedSettings, merge_tuned, read_tuned

#: "reference-tvio" is the reference backend decoding with torchvision.io instead of PIL.
Backend = Literal["auto", "dali", "reference", "reference-tvio"]
#: ``loader.profile``'s mode: counters per stage (the default), or detailed (spans, ranges).
ProfileMode = Literal["counters", "detailed"]
#: After normalization: "auto", "cpu", "gpu" (the local rank's GPU) or "gpu:N" (GPU N).
DEVICE_SPELLINGS = "'auto', 'cpu', 'gpu', 'cuda', 'cuda:N' or a torch.device"
#: An order seed must fit torch's generator and numpy's seed sequence: [0, 2**63).
SEED_LIMIT = 2**63
_DEVICE = re.compile(r"(auto|cpu|gpu|cuda)(?::(\d+))?")


def default_threads() -> int:
    """DALI's CPU threads when neither ``num_threads`` nor ``num_workers`` is given."""
    return min(4, os.cpu_count() or 1)


def _as_int(value: Any) -> Any:
    """numpy and torch integers as ints; bools, floats and strings stay (and are refused)."""
    if isinstance(value, int) or not hasattr(value, "__index__"):  # bool is an int
        return value
    try:
        return operator.index(value)
    except TypeError:
        return value


def _as_bool(value: Any) -> Any:
    numpy_bool = type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")
    return bool(value) if numpy_bool else value


def _as_number(value: Any) -> Any:
    """numpy numbers as Python ones (strict floats take ints, never bools); the rest stays."""
    item = getattr(value, "item", None)
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0 and callable(item):
        number = item()  # a numpy bool becomes a bool: refused
        return number if isinstance(number, int | float) else value
    return value


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _as_bucketing(value: Any) -> Any:
    """``True`` (the defaults) or a dict as a :class:`BucketingConfig`; ``False``: none."""
    if value is True:
        return BucketingConfig()
    if value is False:
        return None
    if isinstance(value, Mapping):
        return BucketingConfig.model_validate(dict(value))
    return value


Int = Annotated[int, BeforeValidator(_as_int)]
Bool = Annotated[bool, BeforeValidator(_as_bool)]


def parse_device(value: Any) -> str:
    """A torch device spelling as ``"auto"``, ``"cpu"``, ``"gpu"`` or ``"gpu:N"``."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.device):
        value = str(value)
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = f"cuda:{value}"  # torch.device(1) is cuda:1
    match = _DEVICE.fullmatch(value.strip().lower()) if isinstance(value, str) else None
    if match is None or (match[1] == "auto" and match[2] is not None):
        raise LoaderConfigError(f"device: expected {DEVICE_SPELLINGS}, got {value!r}")
    kind = "gpu" if match[1] == "cuda" else match[1]
    return kind if match[2] is None or kind == "cpu" else f"gpu:{int(match[2])}"


def _arg(default: Any = None, description: str = "", **constraints: Any) -> Any:
    return Field(default, description=description, **constraints)


class LoaderConfig(FrozenModel):
    """The DataLoader's arguments, validated; torch's names are accepted and mapped in.

    ``LoaderConfig(**kwargs)`` raises :class:`~dali_pipelines.errors.LoaderConfigError` naming
    the argument, and ``TypeError`` for a name that is no DataLoader argument.
    """

    model_config = ConfigDict(strict=True)

    batch_size: Int = _arg(1, "samples per batch", ge=1)
    shuffle: Bool = _arg(False, "a new permutation every epoch (set_epoch, seed)")
    drop_last: Bool = _arg(False, "drop the last, short batch (and the shard tail)")
    seed: Int | None = _arg(
        None,
        "order and augmentation seed; None: drawn from torch's default generator "
        "(0 on several ranks, like DistributedSampler)",
        ge=0,
        lt=SEED_LIMIT,
    )
    num_threads: Int = Field(
        default_factory=default_threads, ge=1, description="DALI CPU threads (reference workers)"
    )
    device: str = _arg("auto", "auto (a GPU when CUDA is available), cpu, gpu or gpu:N")
    backend: Backend = _arg("auto", "auto: DALI when it imports, else the reference backend")
    pin_memory: Bool = _arg(False, "pinned CPU batches (no effect without CUDA)")
    rank: Int | None = _arg(None, "this process's shard; None: torch.distributed or RANK", ge=0)
    world_size: Int | None = _arg(None, "number of shards; None: torch.distributed or 1", ge=1)
    even_batches: Bool = _arg(True, "pad shards to equal length (False: evaluation only)")
    # 3, not DALI's 2: a readers.file pipeline buffers one more batch in its reader's own queue;
    # our inputs come from the source, so the executor's queue holds that batch (measured on
    # imagenet_train, 2 threads: depth 2 gave 0.90 of the raw reader pipeline, depth 3 0.96).
    prefetch_queue_depth: Int = _arg(3, "batches DALI prepares ahead", ge=1)
    check: CheckMode = _arg("first", "check batches against the contract: off, first, every")
    on_error: OnError = _arg("raise", "a sample that fails to decode: raise, or skip it")
    max_pixels: Int | None = _arg(
        DEFAULT_MAX_PIXELS, "larger images fail before decode; None: no limit", ge=1
    )
    python_placement: PythonPlacement = _arg(
        "auto", "where Python stages run: auto, inline or in worker processes"
    )
    python_workers: Int = _arg(None, "Python-stage worker processes; None: num_threads", ge=0)
    timeout: Annotated[float, BeforeValidator(_as_number)] = _arg(
        0.0,
        "seconds to wait for a batch from the Python-stage workers; 0: no limit (torch's "
        "default). A stage that never returns then ends in a PythonStageError",
        ge=0,
    )
    batch_ops: Annotated[tuple[Any, ...] | None, BeforeValidator(_as_tuple)] = _arg(
        None, "MixUp/CutMix as dicts or torchvision v2 transforms"
    )
    as_dict: Bool = _arg(False, "batches as dicts by output name instead of tuples")
    bucketing: Annotated[BucketingConfig | None, BeforeValidator(_as_bucketing)] = _arg(
        None,
        "batches of samples of similar duration (audio): True, a dict or a BucketingConfig "
        "(num_buckets, max_seconds)",
    )
    shuffle_algorithm: ShuffleAlgorithm = _arg(
        "randperm",
        "randperm: torch's permutation, bitwise DistributedSampler's; feistel: a keyed "
        "bijection computed per position (constant memory for any dataset size)",
    )
    autotune: Bool = _arg(
        False,
        "adjust read-ahead and Python workers between batches from the stall and CPU figures "
        "(never the data; each change logged at INFO)",
    )
    cpu_budget: Annotated[float, BeforeValidator(_as_number)] = _arg(
        1.0, "share of the usable cores' CPU time autotune may use", gt=0, le=1
    )
    profile: ProfileMode = _arg(
        "counters",
        "loader.profile: per-stage counters (cheap), or detailed (also spans for a trace and "
        "torch.profiler ranges per stage)",
    )

    def __init__(self, **data: Any) -> None:
        unknown = sorted(set(data) - set(type(self).model_fields) - TORCH_NAMES)
        if unknown:
            raise TypeError(
                f"unexpected keyword argument {unknown[0]!r}: expected a DataLoader argument "
                f"(torch's included)"
            )
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise LoaderConfigError(_message(exc)) from None

    @model_validator(mode="before")
    @classmethod
    def _torch_spellings(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = map_torch_arguments(data)
        if data.get("num_threads") is None:
            data["num_threads"] = default_threads()
        if data.get("python_workers") is None:
            data["python_workers"] = data["num_threads"]
        if data.get("prefetch_queue_depth") is None:  # None: prefetch_factor's or the default
            data["prefetch_queue_depth"] = cls.model_fields["prefetch_queue_depth"].default
        if "device" in data:
            data["device"] = parse_device(data["device"])
        return data

    @model_validator(mode="after")
    def _rank_in_world(self) -> LoaderConfig:
        if self.rank is not None and self.world_size is not None and self.rank >= self.world_size:
            raise LoaderConfigError(
                f"rank: expected an int < world_size={self.world_size}, got {self.rank}"
            )
        return self

    @property
    def device_index(self) -> int | None:
        """The GPU ``device`` names (``"gpu:N"``), None for the local rank's or no GPU."""
        return int(self.device.split(":")[1]) if ":" in self.device else None

    @property
    def device_kind(self) -> Literal["auto", "cpu", "gpu"]:
        kind = self.device.split(":")[0]
        return "cpu" if kind == "cpu" else "gpu" if kind == "gpu" else "auto"


def configure(arguments: Mapping[str, Any]) -> tuple[LoaderConfig, SpecLike | None]:
    """``DataLoader.__init__``'s arguments (its ``locals()``) as (config, spec).

    torch's positional batch size (``DataLoader(ds, 64)``) arrives as the spec; ``torch_kwargs``
    holds the torch names the signature does not list.
    """
    names = set(LoaderConfig.model_fields) | TORCH_NAMES
    given = {k: v for k, v in arguments.items() if k in names}
    spec: Any = arguments.get("spec")
    if isinstance(spec, int) and not isinstance(spec, bool):
        if given.get("batch_size", 1) != 1:
            raise LoaderConfigError(
                f"batch_size: expected it once (positionally or by name), got {spec} and "
                f"{given['batch_size']}"
            )
        given["batch_size"], spec = spec, None
    spec_like: SpecLike | None = spec
    return LoaderConfig(**given, **arguments.get("torch_kwargs", {})), spec_like


def configure_tuned(
    arguments: Mapping[str, Any], defaults: Mapping[str, Any]
) -> tuple[LoaderConfig, SpecLike | None, TunedSettings | None]:
    """:func:`configure` with ``arguments["config"]`` (a tuned file or dict) applied: its keys
    fill the arguments left at their signature ``defaults``; explicit arguments win."""
    source: ConfigSource | None = arguments.get("config")
    if source is None:
        return (*configure(arguments), None)
    tuned = read_tuned(source, frozenset(LoaderConfig.model_fields) | TORCH_NAMES)
    spec = arguments.get("spec")
    if isinstance(spec, int) and not isinstance(spec, bool):  # a positional batch size
        defaults = {k: v for k, v in defaults.items() if k != "batch_size"}
    merged = merge_tuned({k: v for k, v in arguments.items() if k != "config"}, defaults, tuned)
    return (*configure(merged), tuned)


def default_seed(world_size: int) -> int:
    """The seed of a loader given none: drawn from torch's default generator, as torch's
    ``RandomSampler`` draws its own, so ``torch.manual_seed`` makes runs reproducible.

    On several ranks every rank must shuffle alike, and each rank's generator may be seeded
    differently: the seed is then 0, ``DistributedSampler``'s default.
    """
    if world_size > 1:
        return 0
    import torch

    return int(torch.empty((), dtype=torch.int64).random_().item()) % SEED_LIMIT


def _message(exc: ValidationError) -> str:
    """The first error as ``name: expected X, got Y`` (a validator's own message as raised)."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "config"
    cause = error.get("ctx", {}).get("error")
    if error["type"] == "value_error" and isinstance(cause, LoaderConfigError):
        return str(cause)
    info = LoaderConfig.model_fields.get(name)
    expected = _expected(info) if info is not None else "a valid value"
    return f"{name}: expected {expected}, got {bounded_repr(error['input'])}"


def _expected(info: FieldInfo) -> str:
    """What a field accepts, in words, from its annotation and constraints."""
    annotation = info.annotation
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional, annotation = len(args) < len(typing.get_args(annotation)), args[0]
    if typing.get_origin(annotation) is Annotated:  # Int, Bool: a type with a converter
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is Literal:
        values = [repr(v) for v in typing.get_args(annotation)]
        text = ", ".join(values[:-1]) + f" or {values[-1]}"
    elif annotation is bool:
        text = "True or False"
    elif annotation in (int, float):
        bounds = [_bound(m) for m in info.metadata if _bound(m)]
        noun = "an int" if annotation is int else "a number"
        text = noun + (" " + " and ".join(bounds) if bounds else "")
    elif typing.get_origin(annotation) is tuple:
        text = "a list"
    else:
        text = "a string"
    return f"None or {text}" if optional else text


def _bound(constraint: Any) -> str:
    for attr, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        value = getattr(constraint, attr, None)
        if value is not None:
            return f"{symbol} 2**63" if value == SEED_LIMIT else f"{symbol} {value}"
    return ""
