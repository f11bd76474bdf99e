"""The DALI backend. Importing this package does not import DALI; building a pipeline does."""

from __future__ import annotations

from ...availability import dali_available, dali_import_error, require_dali

__all__ = ["dali_available", "dali_import_error", "require_dali"]
