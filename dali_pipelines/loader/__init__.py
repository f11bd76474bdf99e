"""The drop-in loader: torch DataLoader semantics with the sample order owned here.

The names load on first use: the CLI reads :class:`LoaderConfig` (option defaults and help)
without importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - static names for type checkers and IDEs
    from .config import LoaderConfig
    from .dataloader import DataLoader
    from .lightning import LoaderDataModule as LoaderDataModule
    from .order import EpochOrder

_LAZY = {
    "DataLoader": ".dataloader",
    "EpochOrder": ".order",
    "LoaderConfig": ".config",
    "LoaderDataModule": ".lightning",  # imports Lightning: only where it is installed
}

__all__ = ["DataLoader", "EpochOrder", "LoaderConfig"]  # LoaderDataModule: with Lightning


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
