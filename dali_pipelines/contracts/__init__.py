"""Tensor-shape contracts: inferred from specs, checked on batches, usable in any user's pytest.

A :class:`BatchContract` says what every batch of a loader looks like (dims with symbols bound
across tensors, dtype, layout, device, memory format, value range). :func:`infer_contract` derives
it from a spec before anything runs; :func:`check_batch` checks a batch against it;
shipped strategies have reviewed contract files loadable with :func:`load_contract`.

Importing this package imports neither torch nor DALI (the pytest plugin loads it in every
user's test session).
"""

from __future__ import annotations

from ..errors import ContractViolation
from .check import CheckMode, ContractChecker, ValuesMode, check_batch, violations
from .infer import infer_contract
from .model import (
    BatchContract,
    Dim,
    TensorShape,
    TensorSpec,
    contract_json_schema,
)
from .store import (
    contract_from_yaml,
    contract_to_yaml,
    diff_contracts,
    load_contract,
    shipped_contracts,
    write_contract_file,
)

__all__ = [
    "BatchContract",
    "CheckMode",
    "ContractChecker",
    "ContractViolation",
    "Dim",
    "TensorShape",
    "TensorSpec",
    "ValuesMode",
    "check_batch",
    "contract_from_yaml",
    "contract_json_schema",
    "contract_to_yaml",
    "diff_contracts",
    "infer_contract",
    "load_contract",
    "shipped_contracts",
    "violations",
    "write_contract_file",
]
