"""``--markdown``: the report as a markdown page (for a PR comment, a wiki, docs/benchmarks.md)."""

from __future__ import annotations

from . import legend, summary
from .report import BenchReport


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def _table(headers: list[str], body: list[list[str]]) -> list[str]:
    align = ["---:" if h in summary.RIGHT_ALIGNED else "---" for h in headers]
    lines = ["| " + " | ".join(_escape(h) for h in headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_escape(c) for c in cells) + " |" for cells in body]
    return lines


def render_markdown(report: BenchReport) -> str:
    out = [f"## dali-pipelines bench: {summary.title(report)}", ""]
    if report.command:
        out += ["```bash", report.command, "```", ""]
    out += _table(summary.columns(report), summary.rows(report))
    out.append("")
    out += [f"- {line}" for line in summary.headline(report)]
    out += ["", "Loaders:", ""] + [f"- {line}" for line in legend.lines(report)]
    if report.sweep:
        out += ["", f"### Sweep ({summary.unit(report)}/s, median (q1-q3))", ""]
        headers = summary.sweep_columns(report)
        body = summary.sweep_rows(report)
        lines = _table(headers, body)
        # Every column after parameter/value holds numbers.
        lines[1] = "|" + "|".join(["---", "---:"] + ["---:"] * (len(headers) - 2)) + "|"
        out += lines
    out += [
        "",
        f"schema {report.schema_version}, created {report.created}; {summary.unit(report)}/s are "
        "medians of interleaved reps, IQR = q1-q3 of the reps, wait = time the loop waited for "
        "a batch.",
        "",
    ]
    return "\n".join(out)
