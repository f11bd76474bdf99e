"""``dali-pipelines assess MODULE:ATTR``: where each transform of a Compose will run, and why."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import SubParsers, add_command, device_option, option_from_field, stderr, stdout

#: Below this many columns the table's prose cells wrap into tall narrow cells: a list instead.
TABLE_MIN_WIDTH = 120


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
    parser.add_argument("--device", **device_option(help="where DALI runs"))
    parser.add_argument("--python-placement", **_loader_option("python_placement"))
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _loader_option(name: str) -> dict[str, Any]:
    from ..loader.config import LoaderConfig

    return option_from_field(LoaderConfig, name)


def run(args: argparse.Namespace) -> int:
    import sys

    from rich.markup import escape

    from ..translate.assess import assess, resolve

    sys.path.insert(0, "")  # a module next to where the command runs, as `python -m` finds it
    try:
        target = resolve(args.target)
    except (ImportError, AttributeError, ValueError) as exc:  # no such module or attribute
        stderr().print(f"[bold red]error:[/bold red] {escape(str(exc))}", soft_wrap=True)
        return 2
    except Exception as exc:  # the user's module or factory raised: it failed, not the usage
        message = f"{args.target}: {type(exc).__name__}: {exc}"
        stderr().print(f"[bold red]error:[/bold red] {escape(message)}", soft_wrap=True)
        return 1
    device = "gpu" if args.device.startswith("gpu") else "cpu"  # placement needs no index
    result = assess(
        target, strict=args.strict, device=device, python_placement=args.python_placement
    )
    out = stdout()
    if args.json:
        out.print_json(json.dumps(result.to_json()))
        return 0
    title = f"{args.target} on {device}" + (" (strict)" if args.strict else "")
    out.print(_table(title, result) if out.width >= TABLE_MIN_WIDTH else _listing(title, result))
    out.print(f"segments: {escape(result.segments_text())}")
    return 0


def _table(title: str, result: Any) -> Any:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title)
    for column in ("#", "transform", "op", "runs on", "DALI operator / why", "differs"):
        table.add_column(column, overflow="fold")
    for row in result.rows:
        position = "" if row.position is None else str(row.position)
        cells = (row.transform, row.op, row.where, row.detail, row.differs)
        table.add_row(position, *(escape(c) for c in cells))
    return table


def _listing(title: str, result: Any) -> Any:
    """One block per transform: ``#  transform -> op``, then its fields indented, wrapped at
    the terminal's width (a narrow terminal: the table's cells would be a few words wide)."""
    from rich.console import Group
    from rich.padding import Padding
    from rich.text import Text

    blocks: list[Any] = [Text(title, style="bold")]
    for row in result.rows:
        position = "-" if row.position is None else str(row.position)
        blocks.append(Text(f"{position}  {row.transform} -> {row.op}", style="bold"))
        fields = (("runs on", row.where), ("DALI operator / why", row.detail))
        for name, value in (*fields, ("differs", row.differs)):
            if value:
                blocks.append(Padding(Text(f"{name}: {value}"), (0, 0, 0, 3)))
    return Group(*blocks)
