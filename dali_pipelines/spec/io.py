"""Load a spec from a strategy name, a YAML/JSON file or a dict; dump it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError
from .models import PipelineSpec
from .strategies import _STRATEGIES, get_strategy

SpecLike = PipelineSpec | str | Path | dict[str, Any]


def load_spec(source: SpecLike) -> PipelineSpec:
    """A strategy name, a ``.yaml``/``.yml``/``.json`` path, a dict or a spec -> PipelineSpec.

    YAML is read with ``yaml.safe_load`` only: a spec file can never construct Python objects.
    Invalid content raises pydantic's ``ValidationError`` naming the op index and field.
    """
    if isinstance(source, PipelineSpec):
        return source
    if isinstance(source, dict):
        return PipelineSpec.model_validate(source)
    if isinstance(source, str) and source in _STRATEGIES:
        return get_strategy(source)
    path = Path(source)
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        if isinstance(source, str) and not path.exists():
            # Most likely a mistyped strategy name; let the registry say what exists.
            return get_strategy(source)
        raise SpecError(f"spec file: expected a .yaml, .yml or .json file, got {path}")
    if not path.is_file():
        raise SpecError(f"spec file: expected an existing file, got {path}")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecError(f"spec file {path}: not valid {path.suffix[1:].upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(
            f"spec file {path}: expected a mapping at the top, got {type(data).__name__}"
        )
    return PipelineSpec.model_validate(data)


def dump_spec(spec: PipelineSpec, path: str | Path | None = None) -> str:
    """Serialize to YAML (or JSON when ``path`` ends in .json); write it when ``path`` is given."""
    spec.check_dumpable()
    data = spec.model_dump(mode="json")
    as_json = path is not None and str(path).lower().endswith(".json")
    text = json.dumps(data, indent=2) if as_json else yaml.safe_dump(data, sort_keys=False)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
