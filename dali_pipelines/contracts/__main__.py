"""``python -m dali_pipelines.contracts``: regenerate contract files and docs, check a spec.

The same logic backs ``dali-pipelines contract``/``check``; this entry point works before (and
without) the CLI, e.g. in a pre-commit hook::

    python -m dali_pipelines.contracts write            # every strategy's contracts/<name>.yaml
    python -m dali_pipelines.contracts docs --write     # docs/data_contracts.md
    python -m dali_pipelines.contracts check SPEC [--contract FILE]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from ..spec import registered_strategies
    from .report import DOCS_PATH, render_docs, run_check, write_docs
    from .store import write_contract_file

    parser = argparse.ArgumentParser(prog="python -m dali_pipelines.contracts")
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("write", help="regenerate contracts/<strategy>.yaml")
    write.add_argument("names", nargs="*", help="strategies (default: all registered)")
    docs = sub.add_parser("docs", help="print (or --write) docs/data_contracts.md")
    docs.add_argument("--write", action="store_true")
    check = sub.add_parser("check", help="print a spec's inferred contract, compare with a file")
    check.add_argument("spec")
    check.add_argument("--contract", default=None)
    args = parser.parse_args(argv)

    if args.command == "write":
        for name in args.names or registered_strategies():
            print(write_contract_file(name))
        return 0
    if args.command == "docs":
        if args.write:
            print(write_docs(DOCS_PATH))
        else:
            sys.stdout.write(render_docs())
        return 0
    return run_check(args.spec, args.contract)


if __name__ == "__main__":
    sys.exit(main())
