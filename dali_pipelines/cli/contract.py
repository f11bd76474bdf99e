"""``dali-pipelines contract SPEC [--write]``: print or (re)write a spec's contract file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import SubParsers, add_command, stdout


def register(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "contract",
        help="print a spec's inferred contract as YAML, or write its contract file",
        description="Print the contract inferred from SPEC as contract-file YAML. With --write, "
        "write it: to --out, or for a strategy to contracts/<name>.yaml (the reviewed file "
        "the tests compare with).",
        handler=run,
    )
    parser.add_argument("spec", metavar="SPEC", help="strategy name or spec file")
    parser.add_argument("--write", action="store_true", help="write the file instead of printing")
    parser.add_argument("--out", type=Path, default=None, help="where to write (with --write)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")


def run(args: argparse.Namespace) -> int:
    from ..contracts import contract_to_yaml, infer_contract, write_contract_file

    if args.write:
        path = write_contract_file(args.spec, args.out, device=args.device)
        stdout().print(f"wrote {path}")
        return 0
    # Plain write: YAML flow lists like [N, 3, 224, 224] would read as rich markup.
    sys.stdout.write(contract_to_yaml(infer_contract(args.spec, device=args.device)))
    return 0
