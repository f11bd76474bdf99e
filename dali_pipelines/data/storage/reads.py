"""What a remote source holds: its store and its read-ahead, and a read as a uint8 array."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .options import StorageOptions
from .readahead import Read, ReadAhead
from .store import ObjectStore


def _nothing(index: int) -> list[Read]:
    return []


class SourceReads:
    """``read(Read)`` through the read-ahead, else the store; ``plan`` is set when the source
    is bound (which reads a sample takes depends on the spec's columns)."""

    def __init__(self, options: StorageOptions | None):
        self.store = ObjectStore(options)
        self.ahead = ReadAhead(self.store, _nothing)

    def set_plan(self, plan: ReadAhead.Plan) -> None:
        self.ahead.plan = plan

    def read(self, read: Read) -> np.ndarray:
        data = self.ahead.take(read)
        if data is None:
            data = self.store.read(read.url, read.start, read.end, info=read.info)
        return np.frombuffer(data, dtype=np.uint8)

    def plan_reads(self, batches: Sequence[np.ndarray]) -> None:
        """The runner's hook: read the samples of ``batches`` ahead, in that order."""
        self.ahead.schedule(batches)

    def close(self) -> None:
        self.ahead.close()


__all__ = ["SourceReads"]
