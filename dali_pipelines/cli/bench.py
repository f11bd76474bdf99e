"""``dali-pipelines bench``: the DALI loader vs torchvision baselines, loader-only or train-step.

Exit codes: 0 measured, 1 failed or ``--fail-under`` not met, 2 bad usage.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from ._common import (
    SubParsers,
    add_command,
    non_negative_int,
    option_from_field,
    positive_int,
    stderr,
    stdout,
)


def register(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "bench",
        help="measure the DALI loader against torchvision baselines",
        description="Time the DALI loader, the reference loader (torchvision v2 + PIL in a "
        "torch DataLoader with persistent workers) and the same with torchvision.io decoding, on "
        "the same images and spec, with as many DALI threads as DataLoader workers: warm-up "
        "epochs, then timed epochs interleaved between loaders; medians and IQRs are reported. "
        "--mode train adds a training step per batch and the ideal ceiling (the same steps on "
        "batches replayed from memory). Without --data, uses (and caches) demo data.",
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
    # Defaults and help come from BenchConfig, the report's record of what was asked for.
    run_opts = parser.add_argument_group("measurement")
    run_opts.add_argument("--spec", **_from_config("spec", metavar="NAME|FILE"))
    for flag in ("--batch-size", "--threads"):
        run_opts.add_argument(flag, **_from_config(flag))
    run_opts.add_argument("--reps", "--epochs", **_from_config("reps"))
    for flag in ("--warmup", "--seed", "--device", "--mode", "--model"):
        run_opts.add_argument(flag, **_from_config(flag))
    run_opts.add_argument("--loaders", **_from_config("loaders", type=_names, metavar="A,B,..."))
    run_opts.add_argument(
        "--sweep",
        nargs="+",
        default=[],
        metavar="PARAM=V1,V2",
        help="also measure each value of threads / batch_size, one parameter at a time",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the report")
    out.add_argument(
        "--markdown", type=Path, default=None, metavar="PATH", help="write a markdown summary"
    )
    out.add_argument(
        "--plot", type=Path, default=None, metavar="PNG", help="bar chart (and sweep lines)"
    )
    out.add_argument(
        "--fail-under",
        type=_positive_float,
        default=None,
        metavar="SPEEDUP",
        help="exit 1 when DALI / PIL baseline is below SPEEDUP (for CI)",
    )


def _from_config(flag: str, **overrides: Any) -> dict[str, Any]:
    from ..bench.report import BenchConfig

    return option_from_field(BenchConfig, flag, **overrides)


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated loader names, got {text!r}")
    return names


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from ..bench import BenchConfig, parse_sweep, planned_epochs, run_bench, write_report
    from ..bench.loaders import loader_names
    from ..bench.render import RichProgress, print_report, widened

    err, out = stderr(), stdout()
    if args.data is None and args.classes > args.n:
        err.print(f"error: --classes: expected at most --n ({args.n}), got {args.classes}")
        return 2
    try:
        given = {k: getattr(args, k) for k in BenchConfig.model_fields if hasattr(args, k)}
        config = BenchConfig(**(given | {"sweep": parse_sweep(args.sweep)}))
        loader_names(config)
    except ValueError as exc:  # bad --sweep or --loaders: a usage error, before any work
        err.print(f"error: {exc}")
        return 2
    if args.plot is not None and not _has_matplotlib():
        err.print("error: --plot needs matplotlib: pip install 'dali-pipelines[bench]'")
        return 2
    root = args.data if args.data is not None else _demo_data(args)
    command = shlex.join(["dali-pipelines", *getattr(args, "argv", ["bench"])])
    with RichProgress(err, planned_epochs(config)) as progress:
        report = run_bench(root, config, observer=progress, command=command)
    print_report(report, widened(out))
    if args.json is not None:
        err.print(f"report written to {write_report(report, args.json)}")
    if args.markdown is not None:
        from ..bench.markdown import render_markdown
        from ..bench.report import write_text_atomic

        err.print(
            f"markdown written to {write_text_atomic(args.markdown, render_markdown(report))}"
        )
    if args.plot is not None:
        from ..bench.plot import write_plot

        err.print(f"plot written to {write_plot(report, args.plot)}")
    if args.fail_under is not None and report.speedup < args.fail_under:
        err.print(
            f"[bold red]speedup {report.speedup:.2f}x (DALI / PIL baseline) is below "
            f"--fail-under {args.fail_under:g}[/bold red]"
        )
        return 1
    return 0


def _has_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


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
