"""torch ``DataLoader`` arguments on our loader: what carries over, and what to do instead.

Carried over: ``batch_size``, ``shuffle``, ``drop_last``, ``pin_memory`` (same meaning),
``num_workers`` (DALI's CPU threads and the Python-stage worker processes; 0 runs Python stages
in the loading thread), ``prefetch_factor`` (batches DALI prepares ahead), ``generator`` (its
initial seed becomes ``seed``), ``persistent_workers``/``in_order``/``pin_memory_device``
(accepted: threads and workers always live as long as the loader, batches always come in
order, pinned memory goes to the current device) and ``timeout=0``. The rest cannot carry over
and raise :class:`~dali_pipelines.errors.DaliPipelinesError` saying what to do instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import DaliPipelinesError

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


@dataclass(frozen=True)
class TorchArgs:
    num_threads: int | None
    python_workers: int | None
    prefetch_queue_depth: int | None
    seed: int | None


def torch_arguments(
    *,
    num_workers: int | None,
    prefetch_factor: int | None,
    persistent_workers: bool | None,
    other: Mapping[str, Any],
) -> TorchArgs:
    """Map torch's loader arguments; raise on the ones that cannot carry over."""
    seed = None
    for name, value in other.items():
        if name in INSTEAD:
            if value is None or (name == "multiprocessing_context" and not value):
                continue  # torch's default: nothing to translate
            raise DaliPipelinesError(f"{name}: not supported: {INSTEAD[name]}")
        if name == "generator":
            if value is not None:
                seed = int(value.initial_seed()) % 2**63
        elif name == "timeout":
            if value:
                raise DaliPipelinesError(
                    f"timeout: expected 0, got {value!r}: there is no worker to wait for; a "
                    "Python stage worker that dies is reported within seconds"
                )
        elif name not in ACCEPTED:
            raise TypeError(f"DataLoader() got an unexpected keyword argument {name!r}")
    if num_workers is not None and num_workers < 0:
        raise DaliPipelinesError(f"num_workers: expected >= 0, got {num_workers}")
    if prefetch_factor is not None and prefetch_factor < 1:
        raise DaliPipelinesError(f"prefetch_factor: expected >= 1, got {prefetch_factor}")
    del persistent_workers  # accepted: see ACCEPTED
    return TorchArgs(
        num_threads=None if num_workers is None else max(1, num_workers),
        python_workers=num_workers,
        prefetch_queue_depth=prefetch_factor,
        seed=seed,
    )
