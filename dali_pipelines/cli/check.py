"""``dali-pipelines check SPEC``: print the inferred contract; exit 1 if impossible or stale."""

from __future__ import annotations

import argparse
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


def register(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "check",
        help="infer a spec's batch contract and compare it with a contract file",
        description="Infer the contract of SPEC (a strategy name or a .yaml/.json file) without "
        "running it and print it as a table (a list of fields per tensor when the table is "
        "wider than the terminal). Exit 1 with the reason when the op chain is impossible or "
        "the contract differs from --contract (a file or a shipped name); exit 2 when SPEC "
        "names no strategy and no file.",
        handler=run,
    )
    parser.add_argument("spec", metavar="SPEC", help="strategy name or spec file")
    parser.add_argument(
        "--contract", default=None, metavar="FILE|NAME", help="contract file or shipped name"
    )
    parser.add_argument("--device", **device_option(help="where the batches arrive"))


def run(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from ..contracts.report import run_check

    problem = spec_problem(args.spec)
    if problem is not None:
        stderr().print(f"[bold red]error:[/bold red] {escape(problem)}", soft_wrap=True)
        return 2
    contract = args.contract
    if contract is not None and Path(contract).exists():
        contract = Path(contract)
    return run_check(args.spec, contract, device=contract_device(args.device), console=stdout())
