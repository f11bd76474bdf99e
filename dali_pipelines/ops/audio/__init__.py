"""The audio ops: one module each, registered in the same registry as the image ops.

Importing this package registers them; :mod:`.base` holds the conventions they share.
"""

from __future__ import annotations

from . import (
    add_noise,  # noqa: F401  (registration side effect)
    fix_duration,  # noqa: F401  (registration side effect)
    freq_mask,  # noqa: F401  (registration side effect)
    gain,  # noqa: F401  (registration side effect)
    mel_filter_bank,  # noqa: F401  (registration side effect)
    mfcc,  # noqa: F401  (registration side effect)
    resample,  # noqa: F401  (registration side effect)
    spectrogram,  # noqa: F401  (registration side effect)
    speed_perturb,  # noqa: F401  (registration side effect)
    time_mask,  # noqa: F401  (registration side effect)
    time_shift,  # noqa: F401  (registration side effect)
    to_decibels,  # noqa: F401  (registration side effect)
    utterance_norm,  # noqa: F401  (registration side effect)
)
