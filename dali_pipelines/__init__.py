"""dali-pipelines: declarative NVIDIA DALI pipelines with torch DataLoader semantics."""

from __future__ import annotations

from .data import ImageFolder
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
from .loader import DataLoader
from .spec import PipelineSpec, dump_spec, load_spec, register_strategy

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailableError",
    "ContractViolation",
    "DaliPipelinesError",
    "DataError",
    "DataLoader",
    "DatasetError",
    "ImageFolder",
    "LoaderStateError",
    "PipelineSpec",
    "PythonStageError",
    "RegistryError",
    "SampleDecodeError",
    "SpecError",
    "__version__",
    "dump_spec",
    "load_spec",
    "register_strategy",
]
