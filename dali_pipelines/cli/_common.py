"""What every subcommand module shares: how it registers, its consoles, argument types.

A subcommand module defines ``register(subparsers)``, which calls :func:`add_command` with a
handler ``run(args) -> int``; :mod:`.main` imports the modules listed in ``COMMAND_MODULES``.
Handlers import heavy libraries (torch, DALI) inside ``run`` so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from rich.console import Console

Handler = Callable[[argparse.Namespace], int]
# argparse exposes no public name for the object add_subparsers() returns.
SubParsers = argparse._SubParsersAction


def add_command(
    subparsers: SubParsers, name: str, *, help: str, description: str | None, handler: Handler
) -> argparse.ArgumentParser:
    """Add a subcommand whose handler receives the parsed arguments and returns an exit code."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help,
        description=description or help,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def stdout() -> Console:
    """Results (tables, summaries): what a user might pipe or paste."""
    return Console(highlight=False)


def stderr() -> Console:
    """Progress, logs and errors, kept off stdout."""
    return Console(stderr=True, highlight=False)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value
