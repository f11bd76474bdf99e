"""``dali-pipelines contract SPEC [--write]``: print or (re)write a spec's contract file.

``--write`` without ``--out`` writes ``contracts/<name>.yaml`` under the current folder: run
from the checkout's root, that is the reviewed file the tests compare with; run elsewhere, it
never writes into the installed package. A spec file without a name needs ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import (
    SubParsers,
    add_command,
    contract_device,
    device_option,
    spec_problem,
    stderr,
    stdout,
)

#: Where ``--write`` puts a named spec's contract without ``--out``, relative to the cwd.
CONTRACTS_DIR = Path("contracts")


def register(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "contract",
        help="print a spec's inferred contract as YAML, or write its contract file",
        description="Print the contract inferred from SPEC as contract-file YAML. With --write, "
        "write it: to --out, or for a strategy to ./contracts/<name>.yaml under the current "
        "folder (from the checkout's root: the reviewed file the tests compare with).",
        handler=run,
    )
    parser.add_argument("spec", metavar="SPEC", help="strategy name or spec file")
    parser.add_argument("--write", action="store_true", help="write the file instead of printing")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="PATH",
        help="where --write writes (default: ./contracts/<name>.yaml for a strategy)",
    )
    parser.add_argument("--device", **device_option(help="where the batches arrive"))


def run(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from ..contracts import contract_to_yaml, infer_contract, write_contract_file
    from ..spec import load_spec

    device = contract_device(args.device)
    problem = spec_problem(args.spec)
    if problem is None and args.out is not None and not args.write:
        problem = "--out: expected --write with it (without --write the YAML is printed)"
    if problem is None and args.write and args.out is None:
        name = load_spec(args.spec).name
        if name is None:
            problem = f"--write: {args.spec} has no name to file it under; pass --out PATH"
        else:
            args.out = CONTRACTS_DIR / f"{name}.yaml"
    if problem is not None:
        stderr().print(f"[bold red]error:[/bold red] {escape(problem)}", soft_wrap=True)
        return 2
    if args.write:
        path = write_contract_file(args.spec, args.out, device=device)
        stdout().print(f"wrote {escape(str(path))}", soft_wrap=True)
        return 0
    # Plain write: YAML flow lists like [N, 3, 224, 224] would read as rich markup.
    sys.stdout.write(contract_to_yaml(infer_contract(args.spec, device=device)))
    return 0
