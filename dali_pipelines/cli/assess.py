"""``dali-pipelines assess MODULE:ATTR``: where each transform of a Compose will run, and why."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import SubParsers, add_command, option_from_field, stdout


def register(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "assess",
        help="show where each transform of a torchvision Compose runs (DALI, Python, torch)",
        description="Translate a torchvision Compose (v2 or v1; or a zero-argument factory "
        "returning one) and print, for each transform, the spec op it becomes, where the "
        "planner places it (DALI CPU/GPU, Python per-sample inline or in worker processes, "
        "torch batch), the DALI operator or why it stays in Python, how DALI computes "
        "differently from torchvision, and the segments the plan forms. The module is "
        "imported (its code runs); each untranslated transform is called on two small "
        "synthetic images to learn its output.",
        handler=run,
    )
    parser.add_argument("target", metavar="MODULE:ATTR", help="e.g. myproject.data:train_tf")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="keep in Python every transform whose DALI op computes differently",
    )
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--python-placement", **_loader_option("python_placement"))
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _loader_option(name: str) -> dict[str, Any]:
    from ..loader.config import LoaderConfig

    return option_from_field(LoaderConfig, name)


def run(args: argparse.Namespace) -> int:
    import sys

    from rich.markup import escape
    from rich.table import Table

    from ..translate.assess import assess, resolve

    sys.path.insert(0, "")  # a module next to where the command runs, as `python -m` finds it
    try:
        target = resolve(args.target)
    except (ImportError, AttributeError, ValueError) as exc:
        from ._common import stderr

        stderr().print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        return 2
    result = assess(
        target, strict=args.strict, device=args.device, python_placement=args.python_placement
    )
    out = stdout()
    if args.json:
        out.print_json(json.dumps(result.to_json()))
        return 0
    table = Table(title=f"{args.target} on {args.device}" + (" (strict)" if args.strict else ""))
    for column in ("#", "transform", "op", "runs on", "DALI operator / why", "differs"):
        table.add_column(column, overflow="fold")
    for row in result.rows:
        position = "" if row.position is None else str(row.position)
        cells = (row.transform, row.op, row.where, row.detail, row.differs)
        table.add_row(position, *(escape(c) for c in cells))
    out.print(table)
    out.print(f"segments: {escape(result.segments_text())}")
    return 0
