"""The profile as JSON lines: one record per ``every`` batches and one per finished epoch,
flushed as written, so a training job's loader figures sit in a file next to its loss.

A window record (``"kind": "window"``) reads the profile's last batches (its window, 100 by
default); an epoch record (``"kind": "epoch"``) the whole epoch. Both carry ``time`` (Unix
seconds), ``epoch`` and ``batch`` (batches seen by the exporter: a step to join on) and the
figures of :meth:`Figures.record`: ``images``, ``batches``, ``wall_s``, ``images_per_s``,
``stall``, ``cpu_ms_per_image``, ``peak_rss_mb``, ``ms_per_image`` and ``share`` per stage,
and ``queues`` (per queue its sampled depth's ``mean`` and ``max``: epoch records only).
Nothing is buffered beyond the line being written.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO, Any

from ...backends.profile import Profile, ProfileSnapshot
from .figures import Figures, Periodic, figures


class JsonlExporter(Periodic):
    """Append the profile's figures to ``path`` (a file path, or a text stream you own).

    ``append=False`` starts the file over; a stream given is flushed, never closed.
    """

    def __init__(
        self, path: str | os.PathLike[str] | IO[str], *, every: int = 50, append: bool = False
    ) -> None:
        super().__init__(every)
        if isinstance(path, str | os.PathLike):
            self.path: Path | None = Path(path)
            self._out: IO[str] = self.path.open("a" if append else "w", encoding="utf-8")
            self._owned = True
        else:
            self.path, self._out, self._owned = None, path, False

    def write(self, record: dict[str, Any]) -> None:
        """One line, flushed."""
        self._out.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._out.flush()

    def _window(self, profile: Profile, reading: Figures) -> None:
        self.write(self._head("window") | reading.record())

    def _epoch(self, profile: Profile, snapshot: ProfileSnapshot, epoch: int) -> None:
        self.write(self._head("epoch", epoch) | figures(snapshot).record())

    def _head(self, kind: str, epoch: int | None = None) -> dict[str, Any]:
        return {
            "kind": kind,
            "time": round(time.time(), 3),
            "epoch": self.epoch if epoch is None else epoch,
            "batch": self.batches,
        }

    def close(self) -> None:
        if self._owned and not self._out.closed:
            self._out.close()

    def __enter__(self) -> JsonlExporter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


__all__ = ["JsonlExporter"]
