"""dali-pipelines: declarative NVIDIA DALI pipelines with torch DataLoader semantics."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import (
    BackendUnavailableError,
    ContractViolation,
    DaliPipelinesError,
    DataError,
    DatasetError,
    LoaderStateError,
    PythonStageError,
    RegistryError,
    SampleDecodeError,
    SpecError,
)
from .spec import PipelineSpec, dump_spec, load_spec, register_strategy

if TYPE_CHECKING:  # pragma: no cover - static names for type checkers and IDEs
    from .data import Coco, ImageFolder, Manifest, WebDataset
    from .loader import DataLoader

__version__ = "0.1.0"

# The loader and the datasets import torch (~1.5 s). The pytest plugin imports this package in
# every test session of every user who installed it, so these names load on first use.
_LAZY = {
    "DataLoader": ".loader",
    "ImageFolder": ".data",
    "Manifest": ".data",
    "WebDataset": ".data",
    "Coco": ".data",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dali_pipelines' has no attribute {name!r}")


__all__ = [
    "BackendUnavailableError",
    "Coco",
    "ContractViolation",
    "DaliPipelinesError",
    "DataError",
    "DataLoader",
    "DatasetError",
    "ImageFolder",
    "LoaderStateError",
    "Manifest",
    "PipelineSpec",
    "PythonStageError",
    "RegistryError",
    "SampleDecodeError",
    "SpecError",
    "WebDataset",
    "__version__",
    "dump_spec",
    "load_spec",
    "register_strategy",
]
