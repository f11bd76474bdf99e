"""The protocol a dataset offers the loader: sample count, encoded bytes, label, file name."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class SampleSource(Protocol):
    """What the loader needs from a dataset. Indices are 0..len-1 in a fixed order."""

    def __len__(self) -> int: ...

    def read_bytes(self, index: int) -> np.ndarray:
        """The encoded file as a 1-D uint8 array (what DALI's decoders take)."""
        ...

    def label(self, index: int) -> int: ...

    def path(self, index: int) -> str:
        """A name for the sample in messages (its file path)."""
        ...

    def fingerprint(self) -> str:
        """Identifies the sample list (resume refuses a state from another dataset)."""
        ...
