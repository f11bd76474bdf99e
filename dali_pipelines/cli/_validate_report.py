"""What ``dali-pipelines validate`` prints: bad files by reason, the first bad files, a summary.

Tables when they fit the terminal whole; otherwise a list, one file a block, whose paths break
only after a ``/`` (:func:`~._common.path_lines`), never inside a name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._common import fits, path_lines, stdout

#: Indent of a bad file's lines in the list layout.
INDENT = "  "


def print_report(report: Any, show: int, json_path: Path | None = None) -> None:
    """The bad files by reason (count, an example), the first ``show`` bad files, a summary."""
    out = stdout()
    counts = report.counts()
    bad = report.bad
    if bad:
        root = Path(report.root)
        examples: dict[str, str] = {}
        for result in bad:
            examples.setdefault(result.reason, _relative(result.path, root))
        rows = [(reason, count, examples[reason]) for reason, count in counts["reasons"].items()]
        _print_reasons(out, rows)
        if show:
            listed = [(_relative(r.path, root), r.reason or "", r.detail) for r in bad[:show]]
            _print_files(out, listed)
        if len(bad) > show:
            more = f"... and {len(bad) - show} more"
            where = f" (all in {json_path})" if json_path else " (see --json)"
            out.print(escape(more + where), soft_wrap=True)
    mode = "deep: " + "+".join(report.decoders) if report.deep else "quick"
    colour = "green" if not bad else "red"
    out.print(
        f"[{colour}]{counts['files']} files: {counts['ok']} ok, {counts['bad']} bad[/{colour}] "
        f"({mode}, {report.seconds:.1f} s, {counts['cached']} from the cache, "
        f"{report.workers} {report.executor} workers)"
    )
    if report.cache:
        out.print(f"cache: {escape(report.cache)}", soft_wrap=True)


def _print_reasons(out: Console, rows: list[tuple[str, int, str]]) -> None:
    table = Table(title="bad files by reason", title_justify="left")
    table.add_column("reason", no_wrap=True)
    table.add_column("files", justify="right", no_wrap=True)
    table.add_column("example", no_wrap=True)
    for reason, count, example in rows:
        table.add_row(reason, str(count), escape(example))
    if fits(out, table):
        out.print(table)
        return
    out.print("[bold]bad files by reason[/bold]")
    for reason, count, example in rows:
        out.print(f"{INDENT}{reason}: {count} file{'s' if count != 1 else ''}, e.g.")
        _print_path(out, example, INDENT * 3)


def _print_files(out: Console, rows: list[tuple[str, str, str]]) -> None:
    table = Table(title="bad files", title_justify="left")
    table.add_column("file", no_wrap=True)
    table.add_column("reason", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for path, reason, detail in rows:
        table.add_row(escape(path), reason, escape(detail))
    # The detail is prose and may wrap: the table fits when its paths and reasons do.
    table.columns[2].max_width = 40
    if fits(out, table):
        table.columns[2].max_width = None
        out.print(table)
        return
    out.print("[bold]bad files[/bold]")
    for path, reason, detail in rows:
        _print_path(out, path, INDENT)
        out.print(f"{INDENT * 3}{reason}: {escape(detail)}")


def _print_path(out: Console, path: str, indent: str) -> None:
    """``path`` on lines of the console's width, broken only after a separator."""
    lines = path_lines(path, max(out.width - len(indent) - 2, 20))
    for i, line in enumerate(lines):  # continuation lines indented under the first
        out.print(indent + ("  " if i else "") + escape(line), soft_wrap=True, highlight=False)


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path
