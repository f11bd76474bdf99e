"""The package's layering: no module imports a higher layer, and module-level imports form no cycle.

Every import counts for the layers (module level, inside functions, under ``TYPE_CHECKING``,
relative or absolute): a lazy import upward is still a dependency upward. Cycles are checked on
module-level runtime imports only, since those are what can fail at import time.

A new top-level package or module must be placed in :data:`LAYERS` before this test passes.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dali_pipelines

PACKAGE = "dali_pipelines"
SOURCE = Path(dali_pipelines.__file__).parent

#: Lowest first. A module may import its own layer and the ones below, never one above. Names are
#: the top-level modules and packages under dali_pipelines; ``dali_pipelines`` is the package's
#: own ``__init__`` (the public facade, which re-exports from the loader and the translation).
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "_model", "availability", "fork_guard", "_lazy"}),  # leaves
    frozenset({"ops"}),  # ops, their traits, Python ops, spec-level batch ops
    frozenset({"spec"}),  # no torch at load
    frozenset({"plan"}),  # spec -> plan, placement from the op traits
    frozenset({"data"}),  # sources
    frozenset({"validate"}),  # data/validate* today; the design's own package
    frozenset({"preparation"}),  # dataset -> bounded images in tar shards (data, plan, spec)
    frozenset({"contracts"}),
    frozenset({"backends"}),  # dali, reference, hybrid executors
    frozenset({"translate"}),  # torchvision Compose -> spec, assessment
    frozenset({"loader"}),  # the torch surface
    frozenset({PACKAGE}),
    frozenset({"bench"}),  # only cli imports it
    frozenset({"cli"}),  # nothing imports it
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted
    target: str  # imported module, dotted (an attribute import resolves to its module)
    line: int
    module_level: bool  # a runtime import at module level (not in a function, not TYPE_CHECKING)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(SOURCE.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The longest prefix of ``name`` that is one of our modules (``None``: not ours)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def _base(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = _base(module, is_package, node)
        # ``from pkg import sub`` imports the submodule; ``from mod import name`` the module.
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    for name in names:
        target = _resolve(name)
        if target is not None and target != module:
            yield target


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


ImportNode = ast.Import | ast.ImportFrom


def _walk(nodes: list[ast.stmt], runtime: bool) -> Iterator[tuple[ImportNode, bool]]:
    """Every import under ``nodes``, with whether it runs when the module is imported."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, runtime
        elif isinstance(node, ast.If):
            yield from _walk(node.body, runtime and not _is_type_checking(node))
            yield from _walk(node.orelse, runtime)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _walk(block, runtime)
            for handler in node.handlers:
                yield from _walk(handler.body, runtime)
        elif isinstance(node, ast.With):
            yield from _walk(node.body, runtime)
        else:  # functions, classes, anything else: imports inside run later, if at all
            for child in ast.walk(node):
                if isinstance(child, ast.Import | ast.ImportFrom):
                    yield child, False


def imports() -> list[Import]:
    found = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node, runtime in _walk(tree.body, True):
            for target in _targets(module, path.name == "__init__.py", node):
                found.append(Import(module, target, node.lineno, runtime))
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_every_module_has_a_layer() -> None:
    unplaced = sorted({layer(m) for m in MODULES} - RANK.keys())
    assert not unplaced, f"LAYERS: expected a place for every top-level module, got {unplaced}"


def test_walker_sees_lazy_relative_and_type_checking_imports() -> None:
    """The walk must not pass vacuously: these imports exist and are of every kind."""
    found = {(i.source, i.target): i for i in imports()}
    lazy = found[("dali_pipelines.spec.models", "dali_pipelines.ops.python.op")]
    assert not lazy.module_level  # inside check_dumpable
    typing_only = found[("dali_pipelines.ops.python.op", "dali_pipelines.ops.python.registry")]
    assert not typing_only.module_level  # under TYPE_CHECKING (and lazily elsewhere)
    assert found[("dali_pipelines.ops", "dali_pipelines.ops.center_crop")].module_level


def test_no_module_imports_a_higher_layer() -> None:
    upward = [
        f"{i.source}:{i.line} imports {i.target} ({layer(i.source)} < {layer(i.target)})"
        for i in imports()
        if RANK.get(layer(i.target), -1) > RANK.get(layer(i.source), len(LAYERS))
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycles_at_module_level() -> None:
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for i in imports():
        if i.module_level:
            edges[i.source].add(i.target)
    found = cycles(edges)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_spec_plan_and_contract_need_no_dali_torch_or_torchvision() -> None:
    """Loading a spec, planning it and inferring its contract is pure Python (CI, the CLI)."""
    code = textwrap.dedent(
        """
        import sys
        from dali_pipelines import load_spec
        from dali_pipelines.contracts import infer_contract
        from dali_pipelines.plan import make_plan

        spec = load_spec("imagenet_train")
        make_plan(spec)
        infer_contract(spec)
        heavy = ("nvidia.dali", "torch", "torchvision")
        print(sorted(m for m in sys.modules for h in heavy if m == h or m.startswith(h + ".")))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", f"imported: {out.stdout.strip()}"
