"""The drop-in loader: torch DataLoader semantics with the sample order owned here.

The names load on first use: the CLI reads :class:`LoaderConfig` (option defaults and help)
without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

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


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
