"""Python ops: per-sample Python code in the chain, registered by name or kept in-process.

* :mod:`.op` - the ``python`` op (params, shape rule, DALI ``python_function``, torch).
* :mod:`.registry` - :func:`register_python_op` and what each op declares (input, output rule).
* :mod:`.stage` - how a stage runs one sample (seeding, conversions, failures with tracebacks).

Importing this package registers the ``python`` op (``dali_pipelines.ops`` imports it).
"""

from __future__ import annotations

from .op import PythonOp, PythonParams, in_process_message
from .registry import (
    OutputRule,
    PythonOpInfo,
    get_python_op,
    register_python_op,
    registered_python_ops,
    unregister_python_op,
)

__all__ = [
    "OutputRule",
    "PythonOp",
    "PythonOpInfo",
    "PythonParams",
    "get_python_op",
    "in_process_message",
    "register_python_op",
    "registered_python_ops",
    "unregister_python_op",
]
