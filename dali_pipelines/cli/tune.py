"""``dali-pipelines tune``: a bounded probe of the loader's settings; writes a tuned YAML.

Exit codes: 0 the settings are written, 1 failed (bad data, or no point within
``--cpu-budget``), 2 bad usage (checked before any work: options, --spec, a missing --data).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._common import (
    SubParsers,
    add_command,
    device_option,
    fits,
    option_from_field,
    positive_seconds,
    spec_problem,
    stderr,
    stdout,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console

    from ..bench.tune import TuneConfig, TuneResult


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 1,2,4, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers like 1,2,4, got {text!r}")
    return values


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share in (0, 1], got {text}")
    return value


def register(subparsers: SubParsers) -> None:
    from ..bench.tune import TuneConfig

    parser = add_command(
        subparsers,
        "tune",
        help="measure a small grid of loader settings and write the best as a YAML",
        description="A short, bounded probe over your data and spec: one epoch prices the "
        "points, then a small grid of DALI threads x prefetch depth x batch size (x Python "
        "placement when the spec has Python stages) is measured interleaved within --budget "
        "seconds; the best point within --cpu-budget is re-measured against the runner-up. "
        "Prints the table and writes the recommendation as a YAML the loader takes: "
        "DataLoader(..., config='tuned.yaml').",
        handler=run,
    )
    option = option_from_field
    parser.add_argument("--data", type=Path, metavar="DIR", help="an ImageFolder (required)")
    parser.add_argument("--spec", **option(TuneConfig, "spec", metavar="SPEC"))
    budget = option(TuneConfig, "budget", type=positive_seconds, metavar="SECONDS")
    parser.add_argument("--budget", **budget)
    parser.add_argument("--out", **option(TuneConfig, "out", type=Path, metavar="PATH"))
    parser.add_argument("--cpu-budget", **option(TuneConfig, "cpu_budget", type=_share))
    parser.add_argument("--device", **device_option(help="where the pipeline runs"))
    for name in ("threads", "prefetch", "batch_sizes"):
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, **option(TuneConfig, name, type=_int_list, metavar="N,N"))
    parser.add_argument("--reps", **option(TuneConfig, "reps"))
    parser.add_argument("--seed", **option(TuneConfig, "seed"))
    parser.add_argument(
        "--full", action="store_true", help=TuneConfig.model_fields["full"].description
    )
    parser.add_argument(
        "--plot", type=Path, metavar="PNG", help="images/s vs threads, with the per-core ideal"
    )


def _config(args: argparse.Namespace) -> TuneConfig | str:
    from pydantic import ValidationError

    from ..bench.tune import TuneConfig

    if args.data is None:
        return "--data: expected a folder of images (an ImageFolder), got none"
    if not args.data.is_dir():
        return f"--data: expected an existing folder, got {str(args.data)!r}"
    problem = spec_problem(args.spec)
    if problem is not None:
        return problem
    names = ("spec", "budget", "out", "cpu_budget", "device", "threads", "prefetch")
    values: dict[str, Any] = {n: getattr(args, n) for n in names}
    values |= {"batch_sizes": args.batch_sizes, "reps": args.reps, "seed": args.seed}
    try:
        return TuneConfig(data=args.data, full=args.full, **values)
    except ValidationError as exc:
        error = exc.errors()[0]
        return f"{'.'.join(map(str, error['loc']))}: {error['msg']}"


def run(args: argparse.Namespace) -> int:
    from ..bench.tune import tune, tuned_settings
    from ..loader.tuning import write_tuned

    err, out = stderr(), stdout()
    config = _config(args)
    if isinstance(config, str):
        err.print(f"error: {config}", soft_wrap=True, markup=False)
        return 2
    if args.plot is not None and not _has_matplotlib():
        err.print("error: --plot needs matplotlib: pip install 'dali-pipelines[bench]'")
        return 2
    with err.status("tuning") as status:
        result = tune(config, on_phase=lambda text: status.update(f"tune: {text}"))
    _print(out, result)
    settings, measured = tuned_settings(result)
    header = (
        f"dali-pipelines tune --data {config.data} --spec {config.spec} --budget {config.budget:g}"
    )
    write_tuned(config.out, settings, measured, header + "\nDataLoader(..., config=<this file>)")
    out.print(f"wrote {config.out}", soft_wrap=True)
    if args.plot is not None:
        _plots(out, result, args.plot)
    return 0


def _plots(out: Console, result: TuneResult, path: Path) -> None:
    """Images/s vs threads at ``path``; the finalists' stages next to it (``-stages``)."""
    from ..bench.tune_plot import save, stages_figure, threads_figure, tune_curve

    title = f"{result.spec_name}: images/s vs threads ({result.cores} cores)"
    out.print(f"wrote {save(threads_figure(tune_curve(result), title), path)}", soft_wrap=True)
    if result.stages:
        stages = path.with_name(f"{path.stem}-stages{path.suffix}")
        title = f"{result.spec_name}: ms per image by stage (last epoch)"
        out.print(f"wrote {save(stages_figure(result.stages, title), stages)}", soft_wrap=True)


def _has_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _print(out: Console, result: TuneResult) -> None:
    from rich.table import Table

    table = Table(title=f"{result.planned} of {result.grid} points, {result.elapsed_s:.0f} s")
    for column in ("point", "images/s", "q1-q3", "CPU"):
        table.add_column(column, justify="left" if column == "point" else "right")
    best = result.recommended.name
    for p in sorted(result.points, key=lambda p: -p.images_per_s):
        mark = " *" if p.name == best else ""
        over = " over" if p.cpu_share > result.cpu_budget else ""
        table.add_row(
            p.name + mark,
            f"{p.images_per_s:,.0f}",
            f"{p.images_per_s_q1:,.0f}-{p.images_per_s_q3:,.0f}",
            f"{p.cpu_share:.2f}{over}",
        )
    if fits(out, table):
        out.print(table)
    else:
        for p in result.points:
            out.print(f"{p.name}: {p.images_per_s:,.0f} images/s, CPU {p.cpu_share:.2f}")
    r, other = result.recommended, result.runner_up
    out.print(
        f"recommended: {r.name}: {r.images_per_s:,.0f} images/s, CPU {r.cpu_share:.2f} of "
        f"{result.cores} cores (budget {result.cpu_budget:.2f})",
        soft_wrap=True,
    )
    if other is not None:
        out.print(
            f"runner-up: {other.name}: {other.images_per_s:,.0f} images/s, CPU "
            f"{other.cpu_share:.2f}",
            soft_wrap=True,
        )
    load = result.load_before or []
    out.print(f"point: t threads, p prefetch depth, b batch size; load {load}", soft_wrap=True)
