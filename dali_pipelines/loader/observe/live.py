"""A live panel of the profile (opt-in): a ``rich`` table redrawn in place in a terminal or a
notebook, and periodic plain tables where the console is neither (a log file, CI).

The table shows each stage's milliseconds per image and share of the wall time (critical
stages partition it; a background stage's share sums its threads' busy time and can pass
100%), then the stall share, images per second, CPU milliseconds per image and peak resident
memory.
"""

from __future__ import annotations

import importlib.util
import io
import time
from types import TracebackType
from typing import Literal

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ...backends.profile import BACKGROUND, CRITICAL, Profile, ProfileSnapshot
from .figures import Figures, WindowSampler, epoch_of, figures

View = Literal["epoch", "recent"]


def render(reading: Figures, *, title: str = "loader profile") -> Table:
    """The panel's table for one reading."""
    table = Table(title=title, title_justify="left")
    table.add_column("stage")
    table.add_column("ms/image", justify="right")
    table.add_column("share", justify="right")
    for group, stages in (("critical path", CRITICAL), ("background", BACKGROUND)):
        table.add_section()
        table.add_row(f"[bold]{group}[/bold]", "", "")
        for stage in stages:
            table.add_row(
                f"  {stage}",
                f"{reading.ms_per_image[stage]:.3f}",
                f"{100 * reading.share[stage]:.1f}%",
            )
    table.add_section()
    table.add_row("stall", "", f"{100 * reading.stall:.1f}%")
    table.add_row("images/s", f"{reading.images_per_s:,.1f}", "")
    table.add_row("CPU ms/image", f"{reading.cpu_ms_per_image:.3f}", "")
    table.add_row("peak RSS", f"{reading.peak_rss / 2**20:,.1f} MiB", "")
    for queue, (mean, most) in reading.queues.items():
        table.add_row(f"queue {queue}", f"{mean:.1f} mean", f"{most} max")
    table.caption = f"{reading.images} images, {reading.batches} batches, {reading.wall_s:.2f} s"
    return table


def render_text(reading: Figures, *, title: str = "loader profile", width: int = 60) -> str:
    """The table as plain text (no colours, no terminal): what a non-terminal console prints."""
    console = Console(
        width=width, record=True, color_system=None, force_terminal=False, file=io.StringIO()
    )
    console.print(render(reading, title=title))
    return console.export_text()


def _can_redraw(console: Console) -> bool:
    """A terminal, or a notebook with ipywidgets (rich's Jupyter live display)."""
    if console.is_jupyter:
        return importlib.util.find_spec("ipywidgets") is not None
    return console.is_terminal


class LivePanel:
    """The profile's figures, redrawn at most every ``refresh`` seconds as batches arrive.

    ``view="epoch"`` shows the epoch so far, ``"recent"`` the profile's last batches. Use it
    as a context manager, or ``start()``/``close()``; it is an observer (``batch_done``,
    ``epoch_done``: each finished epoch's table stays printed above the live one). Where the
    console cannot redraw, it prints the table every ``plain_every`` seconds instead.
    """

    def __init__(
        self,
        profile: Profile,
        *,
        refresh: float = 1.0,
        view: View = "epoch",
        console: Console | None = None,
        plain_every: float = 30.0,
    ) -> None:
        if refresh <= 0 or plain_every <= 0:
            raise ValueError(f"refresh, plain_every: expected > 0, got {refresh}, {plain_every}")
        self.profile = profile
        self.refresh = refresh
        self.view = view
        self.console = console or Console()
        self.plain_every = plain_every
        self._live: Live | None = None
        self._sampler = WindowSampler()
        self._last = float("-inf")

    def reading(self) -> Figures | None:
        """The figures shown now (``None`` before the first batch of an epoch)."""
        if self.view == "recent":
            return self._sampler.sample(self.profile)
        current = self.profile.current_epoch()
        return None if current is None else figures(current)

    def start(self) -> LivePanel:
        if self._live is None and _can_redraw(self.console):
            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.start()
        return self

    def batch_done(self, profile: Profile | None = None) -> None:
        now = time.monotonic()
        period = self.refresh if self._live is not None else self.plain_every
        if now - self._last < period:
            return
        reading = self.reading()
        if reading is None:
            return
        self._last = now
        self._show(render(reading, title=f"loader profile ({self.view})"))

    def epoch_done(self, profile: Profile, snapshot: ProfileSnapshot) -> None:
        epoch = epoch_of(profile, snapshot, default=len(profile.epochs) - 1)
        self.console.print(render(figures(snapshot), title=f"loader profile: epoch {epoch}"))
        self._last = float("-inf")

    def _show(self, table: Table) -> None:
        if self._live is not None:
            self._live.update(table, refresh=True)
        else:
            self.console.print(table)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __enter__(self) -> LivePanel:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["LivePanel", "View", "render", "render_text"]
