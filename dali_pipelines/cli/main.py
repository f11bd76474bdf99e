"""``dali-pipelines``: the entry point. Subcommands live in their own modules (see _common)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ._common import stderr

#: Subcommand modules, in help order. Adding a command: a module with ``register`` + one name here.
COMMAND_MODULES = ("demo_data", "bench", "preview", "check", "contract", "validate", "assess")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="dali-pipelines",
        description="Declarative NVIDIA DALI pipelines that behave like torchvision + "
        "torch DataLoader.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failed, 2 bad usage, 130 interrupted)."""
    from pydantic import ValidationError
    from rich.markup import escape

    from ..errors import DaliPipelinesError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: return instead of exiting
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    # The command as typed, for reports that record how they were made (bench --markdown).
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.handler(args))
    except (DaliPipelinesError, ValidationError, OSError) as exc:
        # Expected failures (bad spec, missing folder, unwritable path): a message, no trace.
        # soft_wrap: the terminal wraps; no newline inside a path the user may copy.
        stderr().print(f"[bold red]error:[/bold red] {escape(str(exc))}", soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        stderr().print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
