"""``dali-pipelines check SPEC``: print the inferred contract; exit 1 if impossible or stale."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import SubParsers, add_command


def register(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "check",
        help="infer a spec's batch contract and compare it with a contract file",
        description="Infer the contract of SPEC (a strategy name or a .yaml/.json file) without "
        "running it and print it as a table. Exit 1 with the reason when the op chain is "
        "impossible or the contract differs from --contract (a file or a shipped name; "
        "shipped strategies are compared with their reviewed file by default).",
        handler=run,
    )
    parser.add_argument("spec", metavar="SPEC", help="strategy name or spec file")
    parser.add_argument("--contract", default=None, help="contract file or shipped name")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")


def run(args: argparse.Namespace) -> int:
    from ..contracts.report import run_check

    contract = args.contract
    if contract is not None and Path(contract).exists():
        contract = Path(contract)
    return run_check(args.spec, contract, device=args.device)
