"""The drop-in loader: torch DataLoader semantics with the sample order owned here."""

from __future__ import annotations

from .dataloader import DataLoader
from .order import EpochOrder

__all__ = ["DataLoader", "EpochOrder"]
