"""Tuned settings files: ``DataLoader(..., config="tuned.yaml")`` and what ``tune`` writes.

A tuned file is a YAML (or JSON) mapping of :class:`~.config.LoaderConfig` keys
(``num_threads``, ``prefetch_queue_depth``, ``batch_size``, ``python_placement``,
``python_workers``, ...) and an optional ``measured:`` section the loader ignores except for
one check: when it records a ``spec_fingerprint`` that differs from the loader's spec, the
loader logs a warning (the settings were measured on another pipeline). Explicit arguments win
over the file: an argument left at its default takes the file's value.

The file is bounded like a spec (:mod:`..spec.limits`), at :data:`MAX_TUNED_BYTES`.

Importing this module imports neither torch nor DALI.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import LoaderConfigError, SpecError
from ..spec.limits import SpecLimits, check_json_depth, check_size, check_yaml_depth, load_yaml

log = logging.getLogger(__name__)

#: A tuned file is a few hundred bytes; anything over this is no tuned file.
MAX_TUNED_BYTES = 64 << 10
#: The section the loader does not apply: what was measured, for people and the fingerprint check.
MEASURED = "measured"
#: Keys the loader applies from a file, in the order ``tune`` writes them.
TUNED_KEYS = (
    "num_threads",
    "prefetch_queue_depth",
    "batch_size",
    "python_placement",
    "python_workers",
)
ConfigSource = str | os.PathLike[str] | Mapping[str, Any]


@dataclass(frozen=True)
class TunedSettings:
    """A tuned file read: the settings to apply and what was measured (never applied)."""

    settings: dict[str, Any]
    measured: dict[str, Any] = field(default_factory=dict)
    where: str = "config"

    def check_spec(self, fingerprint: str) -> bool:
        """Log a warning when the file was measured on another spec; True when it matches."""
        recorded = self.measured.get("spec_fingerprint")
        if recorded is None or recorded == fingerprint:
            return True
        log.warning(
            "%s: measured on a spec with fingerprint %s, this loader's spec is %s: the settings "
            "may not suit it (run dali-pipelines tune again)",
            self.where,
            recorded,
            fingerprint,
        )
        return False


def read_tuned(source: ConfigSource, allowed: frozenset[str]) -> TunedSettings:
    """A tuned file (path) or mapping, its keys checked against ``allowed``."""
    if isinstance(source, Mapping):
        where, data = "config", dict(source)
    elif isinstance(source, str | os.PathLike):
        where, data = f"config: {os.fspath(source)}", _read_file(Path(source))
    else:
        raise LoaderConfigError(
            f"config: expected a path to a YAML/JSON file or a dict, got {type(source).__name__}"
        )
    measured = data.pop(MEASURED, None) or {}
    if not isinstance(measured, Mapping):
        raise LoaderConfigError(
            f"{where}: {MEASURED}: expected a mapping, got {type(measured).__name__}"
        )
    for key in data:
        if not isinstance(key, str) or key not in allowed:
            raise LoaderConfigError(
                f"{where}: unknown key {key!r} (expected DataLoader arguments such as "
                f"{', '.join(TUNED_KEYS)}, or {MEASURED})"
            )
    return TunedSettings(data, dict(measured), where)


def _read_file(path: Path) -> dict[str, Any]:
    where = f"config: {path}"
    limits = SpecLimits(max_bytes=MAX_TUNED_BYTES)
    try:
        check_size(path.stat().st_size, limits, where)
        with path.open("r", encoding="utf-8") as handle:
            text = handle.read(limits.max_bytes + 1)
        check_size(len(text.encode("utf-8")), limits, where)
        if path.suffix.lower() == ".json":
            check_json_depth(text, limits, where)
            data = json.loads(text)
        else:
            check_yaml_depth(text, limits, where)
            data = load_yaml(text)
    except FileNotFoundError:
        raise LoaderConfigError(f"{where}: expected an existing file, got none") from None
    except SpecError as exc:
        raise LoaderConfigError(str(exc)) from None
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LoaderConfigError(f"{where}: expected YAML or JSON, got {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LoaderConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    return data


def merge_tuned(
    given: Mapping[str, Any], defaults: Mapping[str, Any], tuned: TunedSettings
) -> dict[str, Any]:
    """``given`` (the loader's arguments) with the file's values for those left at their
    signature ``defaults``: explicit arguments win."""
    merged = dict(given)
    for key, value in tuned.settings.items():
        if key not in merged or _is_default(merged[key], defaults.get(key)):
            merged[key] = value
    return merged


@functools.cache
def signature_defaults(function: Callable[..., Any]) -> dict[str, Any]:
    """A function's defaults (``DataLoader.__init__``'s): an argument still at its default
    takes a tuned file's value."""
    parameters = inspect.signature(function).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def _is_default(value: Any, default: Any) -> bool:
    return value is default or (type(value) is type(default) and value == default)


def dump_tuned(settings: Mapping[str, Any], measured: Mapping[str, Any], header: str = "") -> str:
    """The YAML ``tune`` writes: a comment header, the settings, then ``measured:``."""
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    body = yaml.safe_dump(dict(settings), sort_keys=False)
    tail = yaml.safe_dump({MEASURED: dict(measured)}, sort_keys=False)
    return comments + body + tail


def write_tuned(
    path: str | os.PathLike[str],
    settings: Mapping[str, Any],
    measured: Mapping[str, Any],
    header: str = "",
) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dump_tuned(settings, measured, header), encoding="utf-8")
    return target
