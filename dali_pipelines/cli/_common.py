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
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from rich.console import Console

from ._logging import add_logging_options

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
        formatter_class=HelpFormatter,
    )
    add_logging_options(parser, top=False)
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


class HelpFormatter(argparse.HelpFormatter):
    """Shows each default once: appended as ``(default: X)`` unless the help already says its
    default, and never for ``None``, ``False`` or an empty list; a list reads ``a,b,c``."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "(default" in text
            or "%(default)" in text
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or (isinstance(default, list | tuple) and not default)
            or (not action.option_strings and action.nargs != "?")
            or isinstance(action, argparse._HelpAction | argparse._VersionAction)
        ):
            return text
        shown = ",".join(map(str, default)) if isinstance(default, list | tuple) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})"

    def _get_default_metavar_for_optional(self, action: argparse.Action) -> str:
        # --batch-size N, not --batch-size BATCH_SIZE
        integers = (int, positive_int, non_negative_int)
        return "N" if action.type in integers else super()._get_default_metavar_for_optional(action)


#: The loader's device spellings (``parse_device``), as every ``--device`` option takes them.
DEVICE_SPELLINGS = "cpu, gpu or cuda (the same), gpu:N or cuda:N"


def contract_device(device: str) -> Literal["cpu", "gpu"]:
    """A parsed device as contracts take it: they record cpu or cuda, never a GPU's index."""
    return "cpu" if device == "cpu" else "gpu"


def device_type(*, auto: bool = False) -> Callable[[str], str]:
    """An argparse ``type`` parsing a device as the loader does: ``cpu``, ``gpu``, ``cuda``,
    ``gpu:N``, ``cuda:N`` (and ``auto`` when allowed) -> ``cpu``, ``gpu``, ``gpu:N`` or ``auto``."""

    def parse(text: str) -> str:
        from ..errors import LoaderConfigError
        from ..loader.config import parse_device

        try:
            device = parse_device(text)
        except LoaderConfigError:
            device = None
        if device is None or (device == "auto" and not auto):
            allowed = ("auto, " if auto else "") + DEVICE_SPELLINGS
            raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}")
        return device

    parse.__name__ = "device"  # argparse names the type in its messages
    return parse


def device_option(*, default: str = "cpu", auto: bool = False, help: str = "") -> dict[str, Any]:
    """``add_argument`` keywords of a ``--device`` option (the same spellings everywhere)."""
    what = help or "where the pipeline runs"
    spellings = ("auto (a GPU when CUDA is available), " if auto else "") + DEVICE_SPELLINGS
    return {
        "type": device_type(auto=auto),
        "default": default,
        "metavar": "DEVICE",
        "help": f"{what}: {spellings}",
    }


def spec_problem(text: str) -> str | None:
    """Why SPEC names neither a strategy nor an existing file (a usage error), or ``None``."""
    from ..spec import registered_strategies

    if text in registered_strategies() or Path(text).exists():
        return None
    known = ", ".join(registered_strategies())
    return f"SPEC: expected a strategy name ({known}) or an existing spec file, got {text!r}"


def fits(console: Console, renderable: Any) -> bool:
    """Whether ``renderable`` (a table) shows whole at the console's width, no cell folded."""
    wide = console.options.update_width(10_000)  # measured unclamped: its natural width
    return console.measure(renderable, options=wide).maximum <= console.width


def path_lines(path: str, width: int) -> list[str]:
    """``path`` in lines of at most ``width`` characters, broken only after a separator
    (a name longer than ``width`` stays whole on its own line)."""
    parts = [part + "/" for part in path.split("/")]
    parts[-1] = parts[-1][:-1]
    lines = [""]
    for part in parts:
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return lines
