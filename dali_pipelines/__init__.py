"""dali-pipelines: declarative NVIDIA DALI pipelines with torch DataLoader semantics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_getattr
from .errors import (
    BackendUnavailableError,
    ContractViolation,
    DaliPipelinesError,
    DataError,
    DatasetError,
    LoaderConfigError,
    LoaderStateError,
    MissingFilesError,
    ObjectNotFoundError,
    PythonStageError,
    RegistryError,
    SampleDecodeError,
    SpecError,
    StorageError,
)
from .ops.batch import BatchOp, BatchOpParams, register_batch_op
from .ops.python import (
    OutputRule,
    PythonOpInfo,
    register_python_op,
    registered_python_ops,
    unregister_python_op,
)
from .spec import PipelineSpec, dump_spec, load_spec, register_strategy

if TYPE_CHECKING:  # pragma: no cover - static names for type checkers and IDEs
    from .data import (
        AudioFolder,
        Coco,
        EncodedDataset,
        ImageFolder,
        Manifest,
        Prepared,
        WebDataset,
    )
    from .data.storage import StorageOptions
    from .loader import DataLoader, LoaderConfig
    from .preparation import prepare
    from .translate.assess import Assessment, assess
    from .translate.torchvision import from_torchvision

__version__ = "0.1.0"

# The loader, the datasets and the translation import torch (~1.5 s). The pytest plugin imports
# this package in every test session of every user who installed it, so these load on first use.
_LAZY = {
    "DataLoader": ".loader",
    "LoaderConfig": ".loader",
    "ImageFolder": ".data",
    "AudioFolder": ".data",
    "Manifest": ".data",
    "Prepared": ".data",
    "WebDataset": ".data",
    "Coco": ".data",
    "EncodedDataset": ".data",
    "from_torchvision": ".translate.torchvision",
    "assess": ".translate.assess",
    "prepare": ".preparation",
    "Assessment": ".translate.assess",
    "StorageOptions": ".data.storage",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "Assessment",
    "AudioFolder",
    "BackendUnavailableError",
    "BatchOp",
    "BatchOpParams",
    "Coco",
    "ContractViolation",
    "DaliPipelinesError",
    "DataError",
    "DataLoader",
    "DatasetError",
    "EncodedDataset",
    "ImageFolder",
    "LoaderConfig",
    "LoaderConfigError",
    "LoaderStateError",
    "Manifest",
    "MissingFilesError",
    "ObjectNotFoundError",
    "OutputRule",
    "PipelineSpec",
    "Prepared",
    "PythonOpInfo",
    "PythonStageError",
    "RegistryError",
    "SampleDecodeError",
    "SpecError",
    "StorageError",
    "StorageOptions",
    "WebDataset",
    "__version__",
    "assess",
    "dump_spec",
    "from_torchvision",
    "load_spec",
    "prepare",
    "register_batch_op",
    "register_python_op",
    "register_strategy",
    "registered_python_ops",
    "unregister_python_op",
]
