"""The audio ops: one module each, registered in the same registry as the image ops.

Importing this package registers them; :mod:`.base` holds the conventions they share.
"""

from __future__ import annotations

from . import (
    add_noise,  # noqa: F401  (registration side effect)
    fix_duration,  # noqa: F401  (registration side effect)
    gain,  # noqa: F401  (registration side effect)
    resample,  # noqa: F401  (registration side effect)
    speed_perturb,  # noqa: F401  (registration side effect)
    time_shift,  # noqa: F401  (registration side effect)
)
