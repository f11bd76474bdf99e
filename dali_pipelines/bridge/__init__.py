"""The hybrid bridge: Python stages in DALI pipelines, and torchvision transforms translated.

* :func:`register_python_op` - a per-sample Python op registered by name (a spec refers to it).
"""

from __future__ import annotations

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
    "PythonOpInfo",
    "get_python_op",
    "register_python_op",
    "registered_python_ops",
    "unregister_python_op",
]
