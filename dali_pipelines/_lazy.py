"""Lazy module attributes: heavy submodules load on first use, so importing a package stays cheap
(``import dali_pipelines`` pulls in neither torch nor DALI)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    package: str, table: Mapping[str, str], names: dict[str, Any]
) -> Callable[..., Any]:
    """A module ``__getattr__`` resolving ``table[name]`` (a module relative to ``package``) and
    caching the attribute in the module's ``names`` (its globals)."""

    def __getattr__(name: str) -> Any:
        if name in table:
            value = getattr(importlib.import_module(table[name], package), name)
            names[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
