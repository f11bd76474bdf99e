"""``dali-pipelines``: the entry point. Subcommands live in their own modules (see _common).

Exit codes, the same for every command (docs/cli.md): 0 ok, 1 found problems or failed, 2 bad
usage (argparse's own errors, and each command's checks of its arguments before any work),
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from collections.abc import Sequence

from ._common import HelpFormatter, stderr
from ._logging import add_logging_options, cli_logging

log = logging.getLogger("dali_pipelines.cli")

#: Subcommand modules, in help order. Adding a command: a module with ``register`` + one name here.
COMMAND_MODULES = (
    "demo_data",
    "bench",
    "preview",
    "check",
    "contract",
    "validate",
    "prepare",
    "assess",
    "tune",
)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="dali-pipelines",
        description="Declarative NVIDIA DALI pipelines that behave like torchvision + "
        "torch DataLoader. Exit codes: 0 ok, 1 found problems or failed, 2 bad usage.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_logging_options(parser, top=True)
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
        with cli_logging(args.quiet, args.verbose):
            log.debug("arguments: %s", {k: v for k, v in vars(args).items() if k != "handler"})
            start = time.perf_counter()
            code = int(args.handler(args))
            log.info("%s: exit %d after %.1f s", args.command, code, time.perf_counter() - start)
            return code
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
