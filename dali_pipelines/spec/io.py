"""Load a spec from a strategy name, a YAML/JSON file or text, or a dict; dump it back.

Every way in is bounded (:mod:`.limits`: bytes, nesting depth, values with aliases expanded)
and every failure is a :class:`SpecError` naming the file (or ``spec text``, ``spec``) and
the field, with any input value shown truncated (:mod:`.messages`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import SpecError
from .limits import (
    LIMITS_CONTEXT,
    SpecLimits,
    check_json_depth,
    check_size,
    check_yaml_depth,
    load_yaml,
)
from .messages import clip, spec_error
from .models import PipelineSpec
from .strategies import _STRATEGIES, get_strategy

SpecLike = PipelineSpec | str | Path | dict[str, Any]

SUFFIXES = (".yaml", ".yml", ".json")


def load_spec(source: SpecLike, *, limits: SpecLimits | None = None) -> PipelineSpec:
    """A strategy name, a ``.yaml``/``.yml``/``.json`` path, YAML or JSON text (a str holding a
    newline or starting with ``{``), a dict or a spec -> PipelineSpec.

    YAML is read with a safe loader only: a spec file can never construct Python objects.
    ``limits`` bounds the size of what is read (default :class:`SpecLimits`: 1 MiB, 64 levels,
    100,000 values with aliases expanded). Raises :class:`SpecError` naming the file and field.
    """
    limits = limits or SpecLimits()
    if isinstance(source, PipelineSpec):
        return source
    if isinstance(source, dict):
        return validate_spec(source, "spec", limits)
    if isinstance(source, str) and source in _STRATEGIES:
        return get_strategy(source)
    if isinstance(source, str) and _is_text(source):
        check_size(len(source.encode("utf-8", "surrogatepass")), limits, "spec text")
        as_json = source.lstrip().startswith("{")
        return _parse(source, as_json, "spec text", limits)
    path = Path(source)
    if path.suffix.lower() not in SUFFIXES:
        if isinstance(source, str) and not path.exists():
            # Most likely a mistyped strategy name; let the registry say what exists.
            return get_strategy(source)
        raise SpecError(f"spec file: expected a .yaml, .yml or .json file, got {path}")
    where = f"spec file {path}"
    text = _read_text(path, limits, where)
    return _parse(text, path.suffix.lower() == ".json", where, limits)


def _is_text(source: str) -> bool:
    return "\n" in source or source.lstrip().startswith("{")


def _read_text(path: Path, limits: SpecLimits, where: str) -> str:
    """The file's UTF-8 text, read only when it is a regular file within ``max_bytes``."""
    if not path.is_file():  # a FIFO or a device is no file to read a spec from
        raise SpecError(f"spec file: expected an existing file, got {path}")
    try:
        check_size(path.stat().st_size, limits, where)
        with path.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise SpecError(f"{where}: expected a readable file, got {exc.strerror or exc}") from None
    check_size(len(data), limits, where)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        raise SpecError(
            f"{where}: expected UTF-8 text, got byte 0x{bad:02x} at offset {exc.start}"
        ) from None


def _parse(text: str, as_json: bool, where: str, limits: SpecLimits) -> PipelineSpec:
    kind = "JSON" if as_json else "YAML"
    try:
        if as_json:
            check_json_depth(text, limits, where)
            data = json.loads(text)
        else:
            check_yaml_depth(text, limits, where)
            data = load_yaml(text)
    except SpecError:
        raise
    except (ValueError, RecursionError, yaml.YAMLError) as exc:  # a 5,000-digit int included
        raise SpecError(f"{where}: not valid {kind}: {clip(' '.join(str(exc).split()))}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a mapping at the top, got {type(data).__name__}")
    return validate_spec(data, where, limits)


def validate_spec(data: Any, where: str, limits: SpecLimits | None = None) -> PipelineSpec:
    """``PipelineSpec.model_validate`` within ``limits``; a failure is a bounded SpecError."""
    context = {LIMITS_CONTEXT: limits or SpecLimits()}
    try:
        return PipelineSpec.model_validate(data, context=context)
    except ValidationError as exc:
        raise spec_error(exc, where) from None
    except RecursionError:  # a structure the tree check did not see (a custom mapping)
        raise SpecError(f"{where}: expected a spec nested a few levels, got deeper") from None


def dump_spec(spec: PipelineSpec, path: str | Path | None = None) -> str:
    """Serialize to YAML (or JSON when ``path`` ends in .json); write it when ``path`` is given."""
    spec.check_dumpable()
    data = spec.model_dump(mode="json")
    as_json = path is not None and str(path).lower().endswith(".json")
    text = json.dumps(data, indent=2) if as_json else yaml.safe_dump(data, sort_keys=False)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
