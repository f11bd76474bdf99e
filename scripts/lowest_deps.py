"""Helpers for ``scripts/lowest-deps.sh``: the lowest versions pyproject.toml allows.

``pins``: one ``name==floor`` line per dependency of ``[project].dependencies`` (and the test
tools of the ``dev`` extra), each ``>=`` floor turned into ``==``; a dependency without a floor
fails, since "lowest allowed" would then mean any version ever published. The ``PINNED``
packages are left out: they are the builds of the main environment, shared instead of installed
(``overlay``), as the Makefile pins torch/torchvision rather than resolving them.

``overlay DIR``: fill ``DIR`` with links to the pinned packages of the running (main)
environment and to everything they require that the lowest environment does not install
itself, for a ``.pth`` file there to append to ``sys.path``: the lowest environment's own
packages come first, so only what it lacks is taken from the main one.

Run by the main environment's Python (3.11 or later: ``tomllib``; ``packaging`` comes with it).
"""

from __future__ import annotations

import os
import sys
from importlib import metadata
from pathlib import Path

import tomllib
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
#: Shared from the main environment, not installed at their floors: torch/torchvision are
#: pinned by the Makefile (gigabytes of CUDA wheels); DALI's floor is the installed build.
PINNED = {"torch", "torchvision", "nvidia-dali-cuda120", "nvidia-dali-cuda130"}
#: From the dev extra: what running the tests needs, checked at its floors too.
TEST_TOOLS = {"pytest", "hypothesis"}


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    wanted += [
        r
        for r in map(Requirement, project["optional-dependencies"]["dev"])
        if canonicalize_name(r.name) in TEST_TOOLS
    ]
    env = default_environment()
    return [r for r in wanted if r.marker is None or r.marker.evaluate(env)]  # type: ignore[arg-type]


def pins() -> list[str]:
    lines = []
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        if name in PINNED:
            continue
        floors = [s.version for s in requirement.specifier if s.operator == ">="]
        if len(floors) != 1:
            raise SystemExit(f"pyproject.toml: {requirement}: expected one '>=' floor")
        lines.append(f"{name}=={floors[0]}")
    return lines


def closure(names: set[str], installed_low: set[str]) -> set[str]:
    """``names`` and what they require (markers evaluated, no extras), minus ``installed_low``."""
    env = default_environment()
    todo, seen = list(names), set[str]()
    while todo:
        name = str(canonicalize_name(todo.pop()))
        if name in seen or name in installed_low:
            continue
        seen.add(name)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            marker_env = {**env, "extra": ""}
            if requirement.marker is None or requirement.marker.evaluate(marker_env):  # type: ignore[arg-type]
                todo.append(requirement.name)
    return seen


def installed_main() -> set[str]:
    """The distributions of the running (main) environment, by canonical name."""
    return {str(canonicalize_name(d.metadata["Name"])) for d in metadata.distributions()}


def overlay(target: Path, installed_low: set[str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    # DALI is an extra: the main environment has one of its wheels (or none).
    for name in sorted(closure(PINNED & installed_main(), installed_low)):
        dist = metadata.distribution(name)
        tops = {Path(str(f)).parts[0] for f in dist.files or ()}
        for top in sorted(tops):
            source = Path(str(dist.locate_file(top)))
            link = target / top
            if top in ("..", "__pycache__") or top.endswith(".pth") or link.exists():
                continue
            if source.exists():
                os.symlink(source, link)


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "pins":
        print("\n".join(pins()))
    elif command == "overlay" and len(sys.argv) == 4:
        low = {str(canonicalize_name(n)) for n in Path(sys.argv[3]).read_text().split()}
        overlay(Path(sys.argv[2]), low)
    else:
        raise SystemExit("usage: lowest_deps.py pins | overlay DIR INSTALLED_NAMES_FILE")


if __name__ == "__main__":
    main()
