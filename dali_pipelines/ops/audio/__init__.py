"""The audio ops: one module each, registered in the same registry as the image ops.

Importing this package registers them; :mod:`.base` holds the conventions they share.
"""

from __future__ import annotations

from . import gain  # noqa: F401  (registration side effect)
