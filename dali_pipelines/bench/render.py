"""Rich output for benchmarks: live progress while epochs run, a table of the results."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from . import legend, summary
from .report import BenchReport
from .runner import EpochTiming, Observer
from .summary import RIGHT_ALIGNED


class RichProgress(Observer):
    """One bar per epoch (``dali  rep 2/5``), plus an overall bar of epochs.

    Progress is drawn on stderr (via ``console``) so stdout stays clean for the table.
    ``unit`` is what batches hold: ``images``, or ``samples`` in an audio run.
    """

    def __init__(self, console: Console, total_epochs: int, unit: str = "images"):
        self._unit = unit
        self._rate = "img/s" if unit == "images" else f"{unit}/s"
        self._progress = Progress(
            TextColumn("[bold]{task.description:<30}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._overall = self._progress.add_task("all epochs", total=total_epochs, rate="")
        self._epoch: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def point_started(self, description: str) -> None:
        self._progress.console.print(f"[bold]measuring {description}[/bold]")

    def epoch_started(self, subject: str, label: str, total_batches: int | None) -> None:
        self._epoch = self._progress.add_task(f"{subject} {label}", total=total_batches, rate="")

    def batch_done(self, subject: str, images: int) -> None:
        if self._epoch is not None:
            self._progress.advance(self._epoch)

    def epoch_done(self, subject: str, label: str, timing: EpochTiming) -> None:
        if self._epoch is not None:
            self._progress.update(self._epoch, rate=f"{timing.images_per_s:8.0f} {self._rate}")
            # Finished epochs stay visible only as the summary line: keep the screen short.
            self._progress.remove_task(self._epoch)
            self._epoch = None
        self._progress.advance(self._overall)
        self._progress.console.print(
            f"{subject:<18} {label:<12} {timing.images:>6} {self._unit} "
            f"{timing.seconds:7.2f} s {timing.images_per_s:8.0f} {self._rate}"
        )


def _table(title: str | None, headers: list[str], body: list[list[str]]) -> Table:
    table = Table(title=title, title_style="bold")
    for header in headers:
        table.add_column(header, justify="right" if header in RIGHT_ALIGNED else "left")
    for cells in body:
        table.add_row(*cells)
    return table


def results_table(report: BenchReport) -> Table:
    return _table(summary.title(report), summary.columns(report), summary.rows(report))


def sweep_table(report: BenchReport) -> Table:
    headers = summary.sweep_columns(report)
    title = f"sweep: {summary.unit(report)}/s median (q1-q3)"
    table = _table(title, headers, summary.sweep_rows(report))
    for column in table.columns[2:]:
        column.justify = "right"
    return table


#: Width for tables printed to a pipe or file (rich would squeeze them into 80 columns); 132
#: fits the audio table's ten columns with the longest loader name (reference-bucketed).
PIPE_WIDTH = 132


def widened(console: Console) -> Console:
    """``console`` itself on a terminal; a console of :data:`PIPE_WIDTH` columns on a pipe."""
    if console.is_terminal or console.width >= PIPE_WIDTH:
        return console
    return Console(file=console.file, width=PIPE_WIDTH, highlight=False)


def print_report(report: BenchReport, console: Console) -> None:
    console.print(results_table(report))
    lines = summary.headline(report)
    console.print(f"[bold]{lines[0]}[/bold]")
    for line in lines[1:]:
        console.print(line)
    console.print("loaders:", highlight=False, markup=False)
    for line in legend.lines(report):
        console.print(f"  {line}", highlight=False, markup=False)
    if report.sweep:
        console.print(sweep_table(report))
