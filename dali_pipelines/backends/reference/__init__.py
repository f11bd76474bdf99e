"""The reference backend: the same spec as torchvision v2 transforms on PIL-decoded images.

It is the parity oracle in tests and the baseline in benchmarks, so it does the work the way a
torchvision user would: PIL decode in ``DataLoader`` workers, v2 transforms, default collate.
"""

from __future__ import annotations

from .runner import ReferenceRunner, build_transform

__all__ = ["ReferenceRunner", "build_transform"]
