"""The hybrid bridge: torchvision transforms translated, Python stages kept where they must run.

* :func:`from_torchvision` - a torchvision Compose (v2 or v1) as a PipelineSpec; what has no
  spec op becomes a Python stage at its position (:mod:`.translate`).
* :func:`register_python_op` - a per-sample Python op registered by name; a spec refers to it
  by that name only (:mod:`.registry`).
* :func:`assess` - where each transform runs and why (also ``dali-pipelines assess``).
* :class:`EncodedDataset` - a torch Dataset returning encoded bytes as the loader's source,
  its ``__getitem__`` in worker processes (:mod:`.dataset`).
* :func:`register_batch_op` - batch-level torch ops such as MixUp and CutMix (:mod:`.batch_ops`).

Where Python stages run (DALI's ``python_function`` or worker processes) is decided by
:mod:`.placement`; docs/hybrid.md has the measurements behind it. The heavier modules load on
first use, so importing the registry (as every spec with a Python op does) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from .registry import (
    OutputRule,
    PythonOpInfo,
    get_python_op,
    register_python_op,
    registered_python_ops,
    unregister_python_op,
)

_LAZY = {
    "from_torchvision": "translate",
    "assess": "assessment",
    "Assessment": "assessment",
    "EncodedDataset": "dataset",
    "register_batch_op": "batch_ops",
    "BatchOp": "batch_ops",
    "BatchOpParams": "batch_ops",
    "place": "placement",
}

__all__ = [
    "Assessment",
    "BatchOp",
    "BatchOpParams",
    "EncodedDataset",
    "OutputRule",
    "PythonOpInfo",
    "assess",
    "from_torchvision",
    "get_python_op",
    "place",
    "register_batch_op",
    "register_python_op",
    "registered_python_ops",
    "unregister_python_op",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
