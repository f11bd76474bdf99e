"""The profile as TensorBoard scalars, next to a training job's loss.

Every ``every`` batches the window's figures go out as ``<prefix>images_per_s``,
``<prefix>stall``, ``<prefix>cpu_ms_per_image``, ``<prefix>peak_rss_mb`` and
``<prefix>ms_per_image/<stage>``, at the exporter's batch count as the step; each finished
epoch's figures as ``<prefix>epoch/...`` at the epoch's number, with its queues' depths
(``<prefix>epoch/queue/<name>/mean`` and ``.../max``). ``tensorboard`` is an optional
dependency (``pip install tensorboard``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ...backends.profile import Profile, ProfileSnapshot
from .figures import Figures, Periodic, figures

if TYPE_CHECKING:  # pragma: no cover
    from torch.utils.tensorboard import SummaryWriter

MISSING = (
    "TensorBoardExporter: needs the tensorboard package, which is not installed; "
    "pip install tensorboard"
)


def _summary_writer(logdir: str) -> SummaryWriter:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:  # torch's module imports tensorboard at load
        raise ImportError(MISSING) from error
    return SummaryWriter(logdir)


class TensorBoardExporter(Periodic):
    """Write the profile's figures through ``writer`` (a ``SummaryWriter`` you own, or a log
    directory for one made and closed here)."""

    def __init__(
        self,
        writer: SummaryWriter | str | os.PathLike[str],
        *,
        every: int = 50,
        prefix: str = "loader/",
    ) -> None:
        super().__init__(every)
        self.prefix = prefix
        if isinstance(writer, str | os.PathLike):
            self.writer = _summary_writer(os.fspath(writer))
            self._owned = True
        else:
            self.writer, self._owned = writer, False

    def _scalars(self, reading: Figures, step: int, middle: str = "") -> None:
        for name, value in reading.scalars().items():
            self.writer.add_scalar(f"{self.prefix}{middle}{name}", value, step)

    def _window(self, profile: Profile, reading: Figures) -> None:
        self._scalars(reading, self.batches)

    def _epoch(self, profile: Profile, snapshot: ProfileSnapshot, epoch: int) -> None:
        self._scalars(figures(snapshot), epoch, "epoch/")
        self.writer.flush()

    def close(self) -> None:
        if self._owned:
            self.writer.close()
        else:
            self.writer.flush()


__all__ = ["MISSING", "TensorBoardExporter"]
