"""``dali-pipelines demo-data OUT``: write the demo ImageFolder (JPEGs from scikit-image photos)."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from ._common import SubParsers, add_command, non_negative_int, positive_int, stderr, stdout


def register(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "demo-data",
        help="write a demo ImageFolder of realistic JPEGs",
        description="Write OUT/class_XXX/NNNNN.jpg: random crops, rescales, flips and colour "
        "shifts of the photos shipped with scikit-image (300-700 px sides, JPEG quality "
        "75-95). The same seed writes byte-identical files. Needs the 'bench' extra.",
        handler=run,
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="folder to create")
    parser.add_argument("--n", type=positive_int, default=2000, help="number of images")
    parser.add_argument("--classes", type=positive_int, default=10, help="number of classes")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    parser.add_argument(
        "--workers", type=positive_int, default=None, help="encoding threads (default: all CPUs)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace OUT if it holds demo data from an earlier run",
    )


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ..data.demo import make_demo_imagefolder, read_manifest

    err = stderr()
    if args.classes > args.n:
        err.print(f"error: --classes: expected at most --n ({args.n}), got {args.classes}")
        return 2
    out: Path = args.out
    if out.exists() and any(out.iterdir()):
        # Never delete a folder we did not write: --force only replaces earlier demo data.
        if not args.force or read_manifest(out) is None:
            hint = " (use --force to replace it)" if read_manifest(out) is not None else ""
            err.print(f"error: OUT: expected a missing or empty folder, got {out}{hint}")
            return 1
        shutil.rmtree(out)
    start = time.perf_counter()
    with Progress(
        "[bold]demo-data", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as progress:
        task = progress.add_task("images", total=args.n)
        make_demo_imagefolder(
            out,
            n=args.n,
            classes=args.classes,
            seed=args.seed,
            workers=args.workers,
            on_image=lambda: progress.advance(task),
        )
    seconds = time.perf_counter() - start
    manifest = read_manifest(out) or {}
    size_mib = manifest.get("total_bytes", 0) / 2**20
    stdout().print(
        f"wrote {args.n} JPEGs in {args.classes} classes to {out} "
        f"({size_mib:.1f} MiB) in {seconds:.1f} s"
    )
    return 0
