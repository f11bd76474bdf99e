"""``dali-pipelines bench``: DALI loader vs the torchvision reference, images/s and speedup."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import SubParsers, add_command, non_negative_int, positive_int, stderr, stdout


def register(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "bench",
        help="measure the DALI loader against the torchvision reference",
        description="Time the DALI loader and the reference loader (torchvision v2 + PIL in a "
        "torch DataLoader with persistent workers) on the same images and spec, with as many "
        "DALI threads as DataLoader workers: a warm-up epoch each, then timed epochs "
        "interleaved between the two. Without --data, uses (and caches) demo data.",
        handler=run,
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data", type=Path, default=None, metavar="DIR", help="an ImageFolder to read"
    )
    data.add_argument("--n", type=positive_int, default=2000, help="demo images (without --data)")
    data.add_argument(
        "--classes", type=positive_int, default=10, help="demo classes (without --data)"
    )
    data.add_argument(
        "--demo-seed", type=non_negative_int, default=0, help="demo data seed (without --data)"
    )
    data.add_argument(
        "--cache-dir", type=Path, default=Path(".cache"), help="where demo data is cached"
    )
    run_opts = parser.add_argument_group("measurement")
    run_opts.add_argument(
        "--spec", default="imagenet_train", metavar="NAME|FILE", help="strategy or spec file"
    )
    run_opts.add_argument("--batch-size", type=positive_int, default=64)
    run_opts.add_argument(
        "--threads",
        type=positive_int,
        default=2,
        help="DALI threads, and DataLoader workers for the baseline",
    )
    run_opts.add_argument(
        "--reps",
        "--epochs",
        dest="reps",
        type=positive_int,
        default=5,
        help="timed epochs per loader (the median is reported)",
    )
    run_opts.add_argument(
        "--warmup", type=non_negative_int, default=1, help="untimed epochs per loader first"
    )
    run_opts.add_argument("--seed", type=non_negative_int, default=0, help="loader seed")
    run_opts.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    parser.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="write the report as JSON"
    )


def run(args: argparse.Namespace) -> int:
    from ..bench import BenchConfig, run_loader_bench, write_report
    from ..bench.render import RichProgress, print_report

    err, out = stderr(), stdout()
    if args.data is None and args.classes > args.n:
        err.print(f"error: --classes: expected at most --n ({args.n}), got {args.classes}")
        return 2
    root = args.data if args.data is not None else _demo_data(args)
    config = BenchConfig(
        spec=str(args.spec),
        batch_size=args.batch_size,
        threads=args.threads,
        reps=args.reps,
        warmup=args.warmup,
        seed=args.seed,
        device=args.device,
    )
    total_epochs = 2 * (config.reps + config.warmup)
    with RichProgress(err, total_epochs) as progress:
        report = run_loader_bench(root, config, observer=progress)
    print_report(report, out)
    if args.json is not None:
        path = write_report(report, args.json)
        err.print(f"report written to {path}")
    return 0


def _demo_data(args: argparse.Namespace) -> Path:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ..data.demo import cached_demo_imagefolder, demo_cache_path

    err = stderr()
    with Progress(
        "[bold]demo data",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        target = demo_cache_path(args.cache_dir, args.n, args.classes, args.demo_seed)
        task = progress.add_task(str(target), total=args.n)
        root, created = cached_demo_imagefolder(
            args.cache_dir,
            n=args.n,
            classes=args.classes,
            seed=args.demo_seed,
            on_image=lambda: progress.advance(task),
        )
    err.print(f"{'made' if created else 'reusing'} demo data in {root}")
    return root
