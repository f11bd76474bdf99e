"""Bounds on a spec before it is parsed or validated: bytes, nesting depth and expanded nodes.

A spec can come from an untrusted source. Without bounds a 486-byte YAML file with nine levels
of aliases (``a1: &a1 [*a0, *a0, ...]``) stands for 9**9 nodes: PyYAML keeps the aliases shared,
but anything that walks the tree (validation, an error message) walks all of them. Deeply
nested input overflows Python's recursion in the YAML composer or the JSON decoder.

So every spec is bounded, by default:

* :data:`MAX_SPEC_BYTES` (1 MiB) of file or text: real specs are well under 10 KiB;
* :data:`MAX_SPEC_DEPTH` (64) levels of nested lists/mappings: a spec needs about 6;
* :data:`MAX_SPEC_NODES` (100,000) values with every alias expanded: a spec has a few hundred.

Aliases stay allowed (``mean: &m [0.5, 0.5, 0.5]`` then ``*m`` is a fair use): an alias counts
as many nodes as it stands for, so only expansion beyond the budget is refused. A recursive
alias (a list that holds itself) is refused outright.

Override per call with ``load_spec(source, limits=SpecLimits(max_bytes=...))`` and hand the
loaded spec on (a ``DataLoader`` takes a :class:`PipelineSpec`), or set the module constants,
which :class:`SpecLimits` reads when it is created.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import SpecError

#: Largest spec file or text accepted, in bytes.
MAX_SPEC_BYTES = 1 << 20
#: Deepest nesting of lists and mappings accepted (aliases expanded).
MAX_SPEC_DEPTH = 64
#: Most values (containers and scalars, aliases expanded) a spec may hold.
MAX_SPEC_NODES = 100_000

#: The validation-context key under which :class:`PipelineSpec` finds the limits to apply.
LIMITS_CONTEXT = "spec_limits"

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


@dataclass(frozen=True)
class SpecLimits:
    """The bounds a spec must fit; each defaults to its module constant (read at creation)."""

    max_bytes: int = field(default_factory=lambda: MAX_SPEC_BYTES)
    max_depth: int = field(default_factory=lambda: MAX_SPEC_DEPTH)
    max_nodes: int = field(default_factory=lambda: MAX_SPEC_NODES)


def _error(where: str, message: str) -> SpecError:
    return SpecError(f"{where}: {message}" if where else message)


def check_size(size: int, limits: SpecLimits, where: str) -> None:
    if size > limits.max_bytes:
        raise _error(where, f"expected at most {limits.max_bytes} bytes, got {size}")


def _too_deep(limits: SpecLimits, where: str) -> SpecError:
    return _error(where, f"expected at most {limits.max_depth} levels of nesting, got more")


def check_yaml_depth(text: str, limits: SpecLimits, where: str) -> None:
    """Refuse YAML nested deeper than ``max_depth`` from its event stream (nothing composed).

    PyYAML composes and constructs nodes recursively: depth must be known before that.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limits.max_depth:
                raise _too_deep(limits, where)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def check_json_depth(text: str, limits: SpecLimits, where: str) -> None:
    """Refuse JSON nested deeper than ``max_depth`` (brackets outside strings) before decoding."""
    depth = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limits.max_depth:
            raise _too_deep(limits, where)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` (libyaml's when available): never constructs Python objects."""
    return yaml.load(text, Loader=_Loader)


def _children(value: Any) -> list[Any] | None:
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return None


@dataclass
class _Frame:
    value: Any
    children: Iterator[Any]
    nodes: int = 1
    depth: int = 0  # of the deepest child subtree


def check_tree(data: Any, limits: SpecLimits, where: str = "") -> None:
    """Refuse ``data`` (parsed YAML/JSON or a dict) when, with shared values counted as often
    as they appear, it holds more than ``max_nodes`` values or nests deeper than ``max_depth``,
    or holds itself. Iterative and memoized on shared containers: the work is linear in the
    distinct containers, however many nodes they stand for.
    """
    root = _children(data)
    if root is None:
        return
    sizes: dict[int, tuple[int, int]] = {}
    stack = [_Frame(data, iter(root))]
    on_path = {id(data)}
    while stack:
        frame = stack[-1]
        child = next(frame.children, _DONE)
        if child is _DONE:
            stack.pop()
            on_path.discard(id(frame.value))
            sizes[id(frame.value)] = (frame.nodes, frame.depth + 1)
            if stack:
                _add(stack[-1], frame.nodes, frame.depth + 1, len(stack), limits, where)
            continue
        kids = _children(child)
        if kids is None:
            _add(frame, 1, 0, len(stack), limits, where)
        elif id(child) in on_path:
            raise _error(where, "expected a tree, got a value that contains itself")
        elif id(child) in sizes:
            _add(frame, *sizes[id(child)], len(stack), limits, where)
        else:
            if len(stack) >= limits.max_depth:
                raise _too_deep(limits, where)
            on_path.add(id(child))
            stack.append(_Frame(child, iter(kids)))


_DONE = object()


def _add(frame: _Frame, nodes: int, depth: int, level: int, limits: SpecLimits, where: str) -> None:
    """Count a child subtree of ``nodes`` values and ``depth`` levels into ``frame`` (at
    ``level``); every partial count is a lower bound of the total, so refuse as soon as one
    is over."""
    frame.nodes += nodes
    frame.depth = max(frame.depth, depth)
    if frame.nodes > limits.max_nodes:
        raise _error(
            where, f"expected at most {limits.max_nodes} values with aliases expanded, got more"
        )
    if level + depth > limits.max_depth:
        raise _too_deep(limits, where)
