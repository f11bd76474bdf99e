"""What every subcommand module shares: how it registers, its consoles, argument types.

A subcommand module defines ``register(subparsers)``, which calls :func:`add_command` with a
handler ``run(args) -> int``; :mod:`.main` imports the modules listed in ``COMMAND_MODULES``.
Handlers import heavy libraries (torch, DALI) inside ``run`` so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import math
import typing
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel
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


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text}")
    return value


def option_from_field(model: type[BaseModel], name: str, **overrides: Any) -> dict[str, Any]:
    """``add_argument`` keywords for ``model``'s field ``name``: its default, help and choices.

    ``name`` may be spelled as the flag (``--batch-size``: ``batch_size``). An int field bounded
    by ``ge=1`` or ``ge=0`` parses with :func:`positive_int` or :func:`non_negative_int`;
    ``overrides`` win. So an option and the config it fills cannot disagree on a default.
    """
    field = name.lstrip("-").replace("-", "_")
    info = model.model_fields[field]
    kwargs: dict[str, Any] = {"dest": field, "help": info.description}
    if not info.is_required():
        kwargs["default"] = info.get_default(call_default_factory=True)
    annotation = info.annotation
    if typing.get_origin(annotation) is Literal:
        kwargs["choices"] = typing.get_args(annotation)
    elif annotation is int:
        lower = next((m.ge for m in info.metadata if getattr(m, "ge", None) is not None), None)
        bounded: dict[object, Callable[[str], int]] = {1: positive_int, 0: non_negative_int}
        kwargs["type"] = bounded.get(lower, int)
    return kwargs | overrides
