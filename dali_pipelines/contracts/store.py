"""Contract files: YAML, one per shipped strategy, loadable by name after ``pip install``.

The reviewed files live in the repository's top-level ``contracts/``. The package directory
``dali_pipelines/contracts/files`` is a symlink to it, so the one copy is read in a checkout
(editable install included) and setuptools' package-data copies it into the wheel, where
:mod:`importlib.resources` finds it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from ..errors import RegistryError, SpecError
from ..spec.io import SpecLike, load_spec
from .infer import DeviceName, infer_contract
from .model import BatchContract

if TYPE_CHECKING:  # pragma: no cover - typing only; importlib.resources.abc is Python >= 3.11
    from importlib.resources.abc import Traversable

SUFFIX = ".yaml"
HEADER = (
    "# Data contract of {what}: the reviewed interface of its batches.\n"
    "# Generated; regenerate with `dali-pipelines contract {name} --write` and review the diff.\n"
)


def _packaged() -> Traversable:
    return resources.files("dali_pipelines.contracts") / "files"


def contract_dir() -> Path:
    """Where shipped contract files are written: the checkout's ``contracts/`` when there is one."""
    # Resolved through the symlink, so messages show the reviewed file's real path.
    return (Path(__file__).resolve().parent / "files").resolve()


def shipped_contracts() -> list[str]:
    """Names of the contracts shipped with the package (one per strategy), sorted."""
    folder = _packaged()
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(SUFFIX)] for p in folder.iterdir() if p.name.endswith(SUFFIX))


class _Dumper(yaml.SafeDumper):
    """Dims and ranges as ``[N, C=3, H=224, W=224]`` on one line: a file reads like a table."""


class _Flow(list[Any]):
    pass


_Dumper.add_representer(
    _Flow, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, True)
)


def contract_to_yaml(contract: BatchContract) -> str:
    """The YAML text of a contract file (with the header saying how to regenerate it)."""
    data = contract.model_dump(mode="json")
    for tensor in data["tensors"]:
        tensor["dims"] = _Flow(tensor["dims"])
        if tensor["value_range"] is not None:
            tensor["value_range"] = _Flow(tensor["value_range"])
    name = contract.name or "SPEC"
    what = f"strategy {contract.name}" if contract.name else "a pipeline spec"
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    return HEADER.format(what=what, name=name) + body


def contract_from_yaml(text: str, source: str = "<string>") -> BatchContract:
    """Parse and validate a contract file's text; errors name ``source`` and the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"contract file {source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        got = type(data).__name__
        raise SpecError(f"contract file {source}: expected a mapping at the top, got {got}")
    try:
        return BatchContract.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "contract"
        raise SpecError(f"contract file {source}: {where}: {first['msg']}") from exc


def load_contract(source: str | Path | BatchContract) -> BatchContract:
    """A shipped contract by name (``"imagenet_train"``), a ``.yaml`` path, or a contract."""
    if isinstance(source, BatchContract):
        return source
    path = Path(source)
    if path.suffix.lower() in (".yaml", ".yml"):
        if not path.is_file():
            raise SpecError(f"contract file: expected an existing file, got {path}")
        return contract_from_yaml(path.read_text(encoding="utf-8"), str(path))
    name = str(source)
    packaged = _packaged() / f"{name}{SUFFIX}"
    if not packaged.is_file():
        known = ", ".join(shipped_contracts()) or "none shipped"
        raise RegistryError(f"contract: expected one of {known} or a .yaml path, got {name!r}")
    return contract_from_yaml(packaged.read_text(encoding="utf-8"), f"{name}{SUFFIX}")


def write_contract_file(
    spec: SpecLike, path: str | Path | None = None, *, device: DeviceName = "cpu"
) -> Path:
    """Infer ``spec``'s contract and write it; returns the path written.

    Without ``path`` the spec must be named (a strategy) and the file is ``contracts/<name>.yaml``
    of this checkout, the reviewed file a test compares with the inferred contract.
    """
    loaded = load_spec(spec)
    contract = infer_contract(loaded, device=device)
    if path is None:
        if loaded.name is None:
            raise SpecError("path: expected a path for a spec without a name, got None")
        path = contract_dir() / f"{loaded.name}{SUFFIX}"
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(contract_to_yaml(contract), encoding="utf-8")
    return target


def diff_contracts(expected: BatchContract, actual: BatchContract) -> list[str]:
    """Field-by-field differences, ``where: expected X, got Y``; empty when equal."""
    if expected == actual:
        return []
    out: list[str] = []
    if expected.names != actual.names:
        out.append(f"tensors: expected {', '.join(expected.names)}, got {', '.join(actual.names)}")
    for want in expected.tensors:
        if want.name not in actual.names:
            continue
        got = actual.tensor(want.name)
        if len(want.dims) != len(got.dims):
            out.append(f"{want.name}.dims: expected {want.shape_str}, got {got.shape_str}")
        else:
            for i, (a, b) in enumerate(zip(want.dims, got.dims, strict=True)):
                if a != b:
                    out.append(f"{want.name}.dims[{i}]: expected {a}, got {b}")
        for field in type(want).model_fields:
            if field in ("name", "dims"):
                continue
            a, b = getattr(want, field), getattr(got, field)
            if a != b:
                out.append(f"{want.name}.{field}: expected {a}, got {b}")
    if expected.name != actual.name:
        out.append(f"name: expected {expected.name}, got {actual.name}")
    return out
