"""Rich output for benchmarks: live progress while epochs run, a table of the results."""

from __future__ import annotations

import statistics
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

from .report import BenchReport, LoaderResult
from .runner import EpochTiming, Observer


class RichProgress(Observer):
    """One bar per epoch (``dali  rep 2/5``), plus an overall bar of epochs.

    Progress is drawn on stderr (via ``console``) so stdout stays clean for the table.
    """

    def __init__(self, console: Console, total_epochs: int):
        self._progress = Progress(
            TextColumn("[bold]{task.description:<28}"),
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

    def epoch_started(self, subject: str, label: str, total_batches: int | None) -> None:
        self._epoch = self._progress.add_task(f"{subject} {label}", total=total_batches, rate="")

    def batch_done(self, subject: str, images: int) -> None:
        if self._epoch is not None:
            self._progress.advance(self._epoch)

    def epoch_done(self, subject: str, label: str, timing: EpochTiming) -> None:
        if self._epoch is not None:
            self._progress.update(self._epoch, rate=f"{timing.images_per_s:8.0f} img/s")
            # Finished epochs stay visible only as the summary line: keep the screen short.
            self._progress.remove_task(self._epoch)
            self._epoch = None
        self._progress.advance(self._overall)
        self._progress.console.print(
            f"{subject:<10} {label:<12} {timing.images:>6} images "
            f"{timing.seconds:7.2f} s {timing.images_per_s:8.0f} img/s"
        )


def _spread(result: LoaderResult) -> str:
    rates = result.images_per_s_reps
    if len(rates) < 2:
        return "-"
    return f"{min(rates):,.0f}-{max(rates):,.0f}"


def results_table(report: BenchReport) -> Table:
    cfg = report.config
    env = report.env
    title = (
        f"{report.spec_name or cfg.spec} | batch {cfg.batch_size} | {cfg.threads} threads/workers"
        f" | {env.dataset.images} images | {cfg.reps} reps"
    )
    table = Table(title=title, title_style="bold")
    table.add_column("loader")
    table.add_column("backend")
    table.add_column("images/s (median)", justify="right")
    table.add_column("min-max", justify="right")
    table.add_column("epoch s (median)", justify="right")
    table.add_column("vs baseline", justify="right")
    # Rows are named by their role in the report (the JSON keys), the backend says what ran.
    rows = {"dali": report.dali, "baseline": report.baseline, **report.others}
    base = report.baseline.images_per_s
    for role, r in rows.items():
        ratio = r.images_per_s / base if base > 0 else 0.0
        table.add_row(
            role,
            r.backend,
            f"{r.images_per_s:,.0f}",
            _spread(r),
            f"{statistics.median(r.epoch_s):.2f}",
            f"{ratio:.2f}x",
        )
    return table


def print_report(report: BenchReport, console: Console) -> None:
    console.print(results_table(report))
    env = report.env
    console.print(
        f"[bold]speedup (DALI / baseline): {report.speedup:.2f}x[/bold]  "
        f"spec {report.spec_fingerprint}  |  {env.cpu_model}, {env.cpu_usable}/{env.cpu_cores}"
        f" CPUs  |  mean image {env.dataset.mean_width:.0f}x{env.dataset.mean_height:.0f} px,"
        f" {env.dataset.mean_bytes / 1024:.0f} KiB"
    )
