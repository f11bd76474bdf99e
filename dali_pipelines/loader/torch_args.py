"""torch ``DataLoader`` arguments on our loader: what carries over, and what to do instead.

Carried over: ``batch_size``, ``shuffle``, ``drop_last``, ``pin_memory`` (same meaning),
``num_workers`` (DALI's CPU threads and the Python-stage worker processes; 0 runs Python stages
in the loading thread), ``prefetch_factor`` (batches DALI prepares ahead), ``generator`` (its
initial seed becomes ``seed``), ``timeout`` (a LoaderConfig field: the wait for a batch from
the Python-stage workers), ``persistent_workers``/``in_order``/``pin_memory_device`` (accepted:
threads and workers always live as long as the loader, batches always come in order, pinned
memory goes to the current device). The rest cannot carry over and raise
:class:`~dali_pipelines.errors.DaliPipelinesError` saying what to do instead.

:func:`map_torch_arguments` runs first in :class:`~.config.LoaderConfig`'s validation; an
argument given in both spellings (``seed`` and ``generator``, ``prefetch_queue_depth`` and
``prefetch_factor``) must agree.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import DaliPipelinesError, LoaderConfigError
from ..spec import PipelineSpec, load_spec
from ..spec.io import SpecLike

#: torch arguments accepted with no effect here, and why (docs/hybrid.md lists them).
ACCEPTED = {
    "persistent_workers": "DALI's threads and the stage workers live as long as the loader",
    "in_order": "batches always come in order (the order is owned by the loader)",
    "pin_memory_device": "pinned memory is for the loader's CUDA device",
}

#: torch arguments that cannot carry over: what to do instead.
INSTEAD = {
    "collate_fn": (
        "batches are assembled by DALI (one tensor of images, one of labels); for MixUp/CutMix "
        "put them in the spec's batch_ops (or pass batch_ops=[...]); for other per-sample "
        "Python register a Python op (register_python_op) and add it to the spec"
    ),
    "sampler": (
        "the loader owns the order: use shuffle=, seed= and set_epoch(); a DistributedSampler "
        "is built in (rank=/world_size= or torch.distributed); for a subset, build the dataset "
        "from those samples only"
    ),
    "batch_sampler": "the loader batches itself: use batch_size= and drop_last=",
    "worker_init_fn": (
        "no worker process runs your dataset's code; per-sample Python belongs in a registered "
        "Python op (register_python_op), which gets a generator seeded per sample"
    ),
    "multiprocessing_context": (
        "DALI uses threads; Python-stage workers are always forked (remove the argument)"
    ),
}


#: Every torch name the mapping reads (the others of DataLoader's signature are ours too).
TORCH_NAMES = frozenset({"num_workers", "prefetch_factor", "generator", *ACCEPTED, *INSTEAD})


def map_torch_arguments(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with torch's names replaced by ours; raise on the ones that cannot carry over.

    ``num_workers`` sets ``num_threads`` (at least 1) unless given and ``python_workers``;
    ``prefetch_factor`` is ``prefetch_queue_depth``; ``generator``'s initial seed is ``seed``.
    """
    ours = {k: v for k, v in data.items() if k not in TORCH_NAMES}
    for name, value in data.items():
        if name in INSTEAD and not (
            value is None or (name == "multiprocessing_context" and not value)
        ):  # None (torch's default): nothing to translate
            raise DaliPipelinesError(f"{name}: not supported: {INSTEAD[name]}")
    workers = _count("num_workers", data.get("num_workers"), 0)
    if workers is not None:
        if ours.get("num_threads") is None:
            ours["num_threads"] = max(1, workers)
        if ours.get("python_workers") is None:
            ours["python_workers"] = workers
    prefetch = _count("prefetch_factor", data.get("prefetch_factor"), 1)
    for name, value, other in (
        ("seed", _generator_seed(data.get("generator")), "generator"),
        ("prefetch_queue_depth", prefetch, "prefetch_factor"),
    ):
        given = ours.get(name)
        if value is not None and given is not None and given != value:
            raise LoaderConfigError(
                f"{name}: expected {name}= or {other}=, got both ({name}={given!r}, "
                f"{other} gives {value!r})"
            )
        if value is not None:
            ours[name] = value
    return ours


def _count(name: str, value: Any, minimum: int) -> int | None:
    if value is None:
        return None
    try:
        number = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        number = None
    if number is None or number < minimum:
        raise LoaderConfigError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return number


def _generator_seed(generator: Any) -> int | None:
    if generator is None:
        return None
    initial_seed = getattr(generator, "initial_seed", None)
    if not callable(initial_seed):
        raise LoaderConfigError(f"generator: expected a torch.Generator, got {generator!r}")
    return int(initial_seed()) % 2**63


def loader_spec(
    dataset: Any, spec: SpecLike | None, batch_ops: Sequence[Any] | None
) -> PipelineSpec:
    """The spec a loader runs: the one given, or the dataset's torchvision ``transform``
    translated (a torchvision user passes no spec); plus ``batch_ops``."""
    if spec is None:
        transform = getattr(dataset, "transform", None)
        if transform is not None and not callable(transform):
            raise LoaderConfigError(f"transform: expected a callable, got {transform!r}")
        from ..translate.torchvision import spec_from_dataset

        spec = spec_from_dataset(dataset)
    loaded = load_spec(spec)
    if batch_ops is not None:  # MixUp/CutMix as dicts or torchvision v2 transforms
        from .batch_ops import with_batch_ops

        loaded = with_batch_ops(loaded, batch_ops)
    return loaded
