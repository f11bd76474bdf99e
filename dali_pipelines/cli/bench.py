"""``dali-pipelines bench``: the DALI loader vs torchvision baselines, loader-only or train-step;
for an audio spec, the DALI loader vs the reference audio loader (soundfile + soxr + torch).

Exit codes: 0 measured, 1 failed or ``--fail-under`` not met, 2 bad usage (checked before any
progress bar: options, --spec, a missing --data folder).
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._common import (
    SubParsers,
    add_command,
    device_option,
    non_negative_int,
    option_from_field,
    positive_int,
    stderr,
    stdout,
)

if TYPE_CHECKING:  # pragma: no cover - typing only (the bench package loads when a run starts)
    from ..bench.report import BenchConfig, BenchReport

Modality = Literal["image", "audio"]
#: Large-photo demo images without ``--n`` (``--large``): ~1 MB each, ~0.5 s of a core to make.
LARGE_N = 300
#: ``--modality audio`` without ``--spec`` (the image default comes from BenchConfig).
DEFAULT_AUDIO_SPEC = "speech_fbank80"
#: Demo data sizes without --data: synthesized clips last seconds, so fewer make a similar load.
DEMO_N = {"image": 2000, "audio": 200}
DEMO_CLASSES = 10


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
        "batches replayed from memory). Without --data, uses (and caches) demo data. An audio "
        f"spec (or --modality audio: {DEFAULT_AUDIO_SPEC}) reads an AudioFolder and compares "
        "DALI with the reference audio loader (soundfile + soxr + torch ops in DataLoader "
        "workers), adding audio seconds/s and the padding ratio; --bucketing also measures both "
        "with length bucketing.",
        handler=run,
    )
    _data_options(parser.add_argument_group("data"))
    _measurement_options(parser.add_argument_group("measurement"))
    _output_options(parser.add_argument_group("output"))


# argparse exposes no public name for the object add_argument_group() returns.
def _data_options(data: argparse._ArgumentGroup) -> None:
    data.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="an ImageFolder to read, or an AudioFolder for an audio spec (a demo audio root "
        "is read from its clips/)",
    )
    data.add_argument(
        "--modality",
        choices=("image", "audio"),
        default=None,
        help=f"what the data is (default: the spec's modality); audio without --spec runs "
        f"{DEFAULT_AUDIO_SPEC}",
    )
    data.add_argument(
        "--n",
        type=positive_int,
        default=DEMO_N["image"],
        action=_Explicit,
        help=f"demo images, or clips, without --data (default: {DEMO_N['image']}; audio: "
        f"{DEMO_N['audio']})",
    )
    data.add_argument(
        "--classes",
        type=positive_int,
        default=DEMO_CLASSES,
        action=_Explicit,
        help="demo image classes (without --data; audio has its 4 classes)",
    )
    data.add_argument(
        "--demo-seed", type=non_negative_int, default=0, help="demo data seed (without --data)"
    )
    data.add_argument(
        "--large",
        action="store_true",
        help=f"without --data: the large-photo demo set (1,500-3,000 px JPEGs, default --n "
        f"{LARGE_N}), where decoding dominates",
    )
    data.add_argument("--corners", **_from_config("corners", action="store_true"))
    data.add_argument("--prepared", **_from_config("prepared", metavar="DIR"))
    data.add_argument("--max-side", **_from_config("max_side", type=_side, metavar="N|auto"))
    data.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(".cache"),
        metavar="DIR",
        help="where demo data (and --corners' prepared copy) is cached",
    )


def _measurement_options(run_opts: argparse._ArgumentGroup) -> None:
    # Defaults and help come from BenchConfig, the report's record of what was asked for.
    spec = _from_config("spec", metavar="NAME|FILE", action=_Explicit)
    spec["help"] = f"strategy name or spec file (default: {spec['default']}; with --modality "
    spec["help"] += f"audio: {DEFAULT_AUDIO_SPEC})"
    run_opts.add_argument("--spec", **spec)
    for flag in ("--batch-size", "--threads"):
        run_opts.add_argument(flag, **_from_config(flag))
    run_opts.add_argument("--reps", "--epochs", **_from_config("reps"))
    for flag in ("--warmup", "--seed"):
        run_opts.add_argument(flag, **_from_config(flag))
    device = device_option(default="auto", auto=True, help="where DALI runs and the model trains")
    run_opts.add_argument("--device", **_from_config("device", **device, choices=None))
    for flag in ("--mode", "--model"):
        run_opts.add_argument(flag, **_from_config(flag))
    run_opts.add_argument("--loaders", **_from_config("loaders", type=_names, metavar="A,B,..."))
    run_opts.add_argument("--bucketing", **_from_config("bucketing", action="store_true"))
    run_opts.add_argument("--lead-in", **_from_config("lead_in"))
    run_opts.add_argument(
        "--sweep",
        nargs="+",
        default=[],
        metavar="PARAM=V1,V2",
        help="also measure each value of threads / batch_size, one parameter at a time",
    )


def _output_options(out: argparse._ArgumentGroup) -> None:
    out.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="write the report as JSON"
    )
    out.add_argument(
        "--markdown", type=Path, default=None, metavar="PATH", help="write a markdown summary"
    )
    out.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="PNG",
        help="write a bar chart (and sweep lines) as PNG",
    )
    out.add_argument(
        "--fail-under",
        type=_positive_float,
        default=None,
        metavar="SPEEDUP",
        help="exit 1 when DALI / reference (the PIL baseline for images) is below SPEEDUP (for CI)",
    )


def _from_config(flag: str, **overrides: Any) -> dict[str, Any]:
    from ..bench.report import BenchConfig

    return option_from_field(BenchConfig, flag, **overrides)


class _Explicit(argparse.Action):
    """Stores the value and records that the option was given: its default depends on
    --modality (the parsed default is the image one, as BenchConfig has it)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        namespace.explicit = {*getattr(namespace, "explicit", ()), self.dest}


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated loader names, got {text!r}")
    return names


def _side(text: str) -> int | str:
    return "auto" if text == "auto" else positive_int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from ..bench import run_bench
    from ..bench.compare import planned_epochs
    from ..bench.render import RichProgress, print_report, widened
    from ..bench.summary import baseline_label

    err, out = stderr(), stdout()
    checked = _checked_config(args)
    if isinstance(checked, str):
        err.print(f"error: {checked}", soft_wrap=True, markup=False)
        return 2
    config, modality = checked
    if args.plot is not None and not _has_matplotlib():
        err.print("error: --plot needs matplotlib: pip install 'dali-pipelines[bench]'")
        return 2
    root = args.data if args.data is not None else _demo_data(args, modality)
    if config.corners and config.prepared is None:
        from ._corners import prepared_copy

        config = config.model_copy(update={"prepared": str(prepared_copy(root, config, args))})
    command = shlex.join(["dali-pipelines", *getattr(args, "argv", ["bench"])])
    unit = "samples" if modality == "audio" else "images"
    with RichProgress(err, planned_epochs(config, modality), unit=unit) as progress:
        report = run_bench(root, config, observer=progress, command=command)
    print_report(report, widened(out))
    _write_outputs(args, report)
    if args.fail_under is not None and report.speedup < args.fail_under:
        err.print(
            f"[bold red]speedup {report.speedup:.2f}x (DALI / {baseline_label(report)}) is below "
            f"--fail-under {args.fail_under:g}[/bold red]"
        )
        return 1
    return 0


def _checked_config(args: argparse.Namespace) -> tuple[BenchConfig, Modality] | str:
    """The run's config and modality, or what is wrong with the options (before any work)."""
    from ..bench import BenchConfig, parse_sweep
    from ..bench.compare import check_config
    from ..errors import DaliPipelinesError
    from ..spec import load_spec

    explicit: set[str] = getattr(args, "explicit", set())
    problem = _device_problem(args)
    if problem is not None:
        return problem
    if args.modality == "audio" and "spec" not in explicit:
        args.spec = DEFAULT_AUDIO_SPEC
    try:
        modality: Modality = load_spec(args.spec).modality
    except (DaliPipelinesError, OSError, ValueError) as exc:  # unknown name, unreadable file
        return f"--spec: {exc}"
    if args.modality is not None and args.modality != modality:
        return (
            f"--modality {args.modality}: expected an {args.modality} spec, got {args.spec!r} "
            f"(an {modality} spec)"
        )
    if args.large and (modality == "audio" or args.data is not None):
        return "--large: expected image demo data (no --data, an image spec), got " + (
            "--data" if args.data is not None else "an audio spec"
        )
    if args.data is None:
        if "n" not in explicit:
            args.n = LARGE_N if args.large else DEMO_N[modality]
        problem = _demo_problem(args, modality, "classes" in explicit)
        if problem is not None:
            return problem
    try:
        given = {k: getattr(args, k) for k in BenchConfig.model_fields if hasattr(args, k)}
        config = BenchConfig(**(given | {"sweep": parse_sweep(args.sweep)}))
        check_config(config, modality)
    except ValueError as exc:  # bad --sweep or --loaders: a usage error, before any work
        return str(exc)
    if args.data is not None and not args.data.exists():  # before any progress bar
        return f"--data: expected an existing folder, got {args.data}"
    return config, modality


def _device_problem(args: argparse.Namespace) -> str | None:
    """A GPU other than the first (BenchConfig records cpu or gpu); gpu:0 is gpu."""
    if args.device.startswith("gpu:"):
        index = args.device.partition(":")[2]
        if index != "0":
            return (
                f"--device: bench runs on the first visible GPU, got gpu:{index}; choose it "
                f"with CUDA_VISIBLE_DEVICES={index} and --device gpu"
            )
        args.device = "gpu"
    return None


def _demo_problem(args: argparse.Namespace, modality: Modality, classes: bool) -> str | None:
    if modality == "audio":
        from ..data.demo_audio import CLASSES

        if classes:
            return "--classes: expected none for audio demo data (its 4 classes are fixed)"
        if args.n < len(CLASSES):
            return f"--n: expected at least {len(CLASSES)} clips (one a class), got {args.n}"
        return None
    if args.classes > args.n:
        return f"--classes: expected at most --n ({args.n}), got {args.classes}"
    return None


def _write_outputs(args: argparse.Namespace, report: BenchReport) -> None:
    from ..bench import write_report

    err = stderr()
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


def _has_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _demo_data(args: argparse.Namespace, modality: Modality) -> Path:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ..data import demo

    err = stderr()
    with Progress(
        "[bold]demo data",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        if modality == "audio":
            target = demo.demo_audio_cache_path(args.cache_dir, args.n, args.demo_seed)
            task = progress.add_task(str(target), total=args.n)
            root, created = demo.cached_demo_audio(
                args.cache_dir,
                n=args.n,
                seed=args.demo_seed,
                on_file=lambda: progress.advance(task),
            )
        elif args.large:
            from ..data.demo_large import cached_large_demo, large_demo_cache_path

            target = large_demo_cache_path(args.cache_dir, args.n, args.classes, args.demo_seed)
            task = progress.add_task(str(target), total=args.n)
            root, created = cached_large_demo(
                args.cache_dir,
                n=args.n,
                classes=args.classes,
                seed=args.demo_seed,
                on_image=lambda: progress.advance(task),
            )
        else:
            target = demo.demo_cache_path(args.cache_dir, args.n, args.classes, args.demo_seed)
            task = progress.add_task(str(target), total=args.n)
            root, created = demo.cached_demo_imagefolder(
                args.cache_dir,
                n=args.n,
                classes=args.classes,
                seed=args.demo_seed,
                on_image=lambda: progress.advance(task),
            )
    err.print(f"{'made' if created else 'reusing'} demo data in {root}")
    return root
