"""``--quiet`` / ``--verbose``: the level of the ``dali_pipelines`` logger while a command runs,
shown on stderr through a rich handler.

The options are global (``dali-pipelines -v check ...``) and accepted after the command too
(``dali-pipelines check ... -v``). Levels: WARNING by default, ERROR with ``--quiet``, INFO with
``-v``, DEBUG with ``-vv``. The logger's level, handlers and propagation are restored when the
command returns, so running :func:`~dali_pipelines.cli.main.main` in a process leaves its
logging as it was.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from contextlib import contextmanager

#: The package's root logger: every module logs below it.
LOGGER = "dali_pipelines"


def add_logging_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``-q/--quiet`` and ``-v/--verbose`` on ``parser``; on a subcommand (``top=False``) they
    default to SUPPRESS so an unset one does not undo what was given before the command."""
    group = parser.add_argument_group("logging").add_mutually_exclusive_group()
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="log errors only (the default level is WARNING)",
        default=False if top else argparse.SUPPRESS,
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        help="log more: -v INFO, -vv DEBUG",
        default=0 if top else argparse.SUPPRESS,
    )


def level(quiet: bool, verbose: int) -> int:
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)


@contextmanager
def cli_logging(quiet: bool = False, verbose: int = 0) -> Iterator[logging.Logger]:
    """The ``dali_pipelines`` logger at the level the options ask for, with a rich handler on
    stderr (and not propagated, so a root handler does not print each record twice)."""
    from rich.logging import RichHandler

    from ._common import stderr

    logger = logging.getLogger(LOGGER)
    saved = (logger.level, logger.propagate)
    handler = RichHandler(
        console=stderr(),
        show_time=False,
        show_path=verbose >= 2,
        markup=False,
        rich_tracebacks=False,
    )
    logger.setLevel(level(quiet, verbose))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
