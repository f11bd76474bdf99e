"""``dali-pipelines prepare SRC OUT``: write a dataset once as bounded-size images in tar shards.

Exit codes: 0 written, 1 written but some files were bad (listed, left out), or failed (OUT
holds something else, a resume with other options), 2 bad usage.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..data.storage.urls import is_url
from ._common import SubParsers, add_command, option_from_field, spec_problem, stderr, stdout

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..data.prepared_format import PreparedManifest

#: Bad files listed in the summary (every one is in OUT/prepared.json).
SHOWN_BAD = 10


def register(subparsers: SubParsers) -> None:
    from ..data.prepared_format import Options

    parser = add_command(
        subparsers,
        "prepare",
        help="write a dataset once as bounded-size images in WebDataset tar shards",
        description="Read every sample of SRC (an ImageFolder, a CSV/JSONL manifest, .tar "
        "shards or a shard pattern, or a COCO images folder with --annotations; a manifest or "
        "shards may be URLs: s3://, gs://, https://, docs/storage.md) and write "
        "OUT/shards/shard-NNNNNN.tar (WebDataset tars with a JSON index each) and "
        "OUT/prepared.json. Images within the bound are stored byte for byte; larger ones are "
        "decoded (JPEGs at a reduced DCT scale when possible), oriented, resized with Lanczos "
        "and stored as JPEG. Every file is checked as validate --deep checks it: bad files are "
        "left out and listed (exit 1). An interrupted run resumes where it stopped when run "
        "again with the same options; the output is the same bytes whatever the worker count.",
        handler=run,
    )
    parser.add_argument("source", metavar="SRC", help="the dataset to read")
    parser.add_argument("out", type=Path, metavar="OUT", help="the output folder")
    parser.add_argument(
        "--spec",
        default=None,
        metavar="SPEC",
        help="the spec whose source section names the columns carried (strategy name or file; "
        "default: image and label, image and boxes with --annotations)",
    )
    parser.add_argument(
        "--annotations",
        type=Path,
        default=None,
        metavar="JSON",
        help="the COCO instances JSON of SRC's images (boxes are scaled with them)",
    )
    bound = parser.add_mutually_exclusive_group()
    max_side = _field("max_side") | {"type": _side, "metavar": "N|auto"}
    max_side["help"] += (
        "; auto (with --spec): the smallest side at which --coverage of the spec's random "
        "crops and resizes are not upsampled, over the data's image sizes"
    )
    bound.add_argument("--max-side", **max_side)
    bound.add_argument("--min-side", **_field("min_side"))
    parser.add_argument(
        "--coverage",
        type=_fraction,
        default=0.95,
        metavar="F",
        help="with --max-side auto: the share of draws that must not be upsampled",
    )
    parser.add_argument("--quality", **_field("quality"))
    parser.add_argument(
        "--no-dct-scaling",
        dest="dct_scaling",
        action="store_false",
        help="decode JPEGs at full size before resizing (default: a JPEG is decoded at a "
        "reduced DCT scale, 1/2, 1/4 or 1/8, when that is still at least the bounded size)",
    )
    parser.add_argument(
        "--reducing-gap", **_field("reducing_gap") | {"type": float, "metavar": "F"}
    )
    raw = option_from_field(Options, "raw")
    parser.add_argument("--raw", action="store_true", dest=raw["dest"], help=raw["help"])
    parser.add_argument("--max-shard-bytes", **_field("max_shard_bytes"))
    parser.add_argument("--max-shard-samples", **_field("max_shard_samples"))
    parser.add_argument("--max-pixels", **_field("max_pixels"))
    parser.add_argument(
        "--workers",
        type=_positive,
        default=None,
        metavar="N",
        help="threads decoding and encoding (default: one per CPU)",
    )


def _positive(text: str) -> int:
    from ._common import positive_int

    return positive_int(text)


def _side(text: str) -> int | str:
    return "auto" if text == "auto" else _positive(text)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def _field(name: str) -> dict[str, Any]:
    from ..data.prepared_format import Options

    kwargs = option_from_field(Options, name, metavar="N")
    if "type" not in kwargs:  # an optional int (None: no bound)
        kwargs["type"] = _positive
    return kwargs


def _usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments, before any work (None: nothing)."""
    source = Path(args.source)
    named = is_url(args.source) or any(ch in args.source for ch in "*?[{")
    if not source.exists() and not named:
        return (
            f"SRC: expected a folder, a manifest or .tar shards, got {args.source} (no such path)"
        )
    if args.annotations is not None and not args.annotations.is_file():
        return f"--annotations: expected a COCO JSON file, got {args.annotations} (no such file)"
    if args.max_side == "auto" and args.spec is None:
        return "--max-side auto: expected --spec (its ops decide the side), got none"
    if args.spec is not None:
        return spec_problem(args.spec)
    return None


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from ..data.prepared_format import Options
    from ..preparation import prepare

    err = stderr()
    problem = _usage_problem(args)
    if problem is not None:
        err.print(f"error: {problem}", soft_wrap=True, markup=False)
        return 2
    auto = args.max_side == "auto"
    given = {name: getattr(args, name) for name in Options.model_fields}
    try:
        options = Options(**(given | ({"max_side": None} if auto else {})))
    except ValidationError as exc:  # a bound below the model's minimum
        first = exc.errors()[0]
        flag = "--" + "-".join(str(part) for part in first["loc"]).replace("_", "-")
        err.print(f"error: {flag}: {first['msg']}", soft_wrap=True, markup=False)
        return 2
    processed = [0]  # samples this run went through (a resumed run starts later)
    start = time.perf_counter()
    with _Bar(err, getattr(args, "quiet", False)) as update:

        def progress(index: int, total: int) -> None:
            processed[0] += 1
            update(index, total)

        manifest = prepare(
            args.source,
            args.out,
            spec=args.spec,
            options=options,
            annotations=args.annotations,
            workers=args.workers,
            progress=progress,
            coverage=args.coverage,
            **({"max_side": "auto"} if auto else {}),
        )
    _summary(manifest, args.out, processed[0], time.perf_counter() - start)
    return 1 if manifest.bad else 0


class _Bar:
    """A rich progress bar on stderr (none when quiet); yields ``update(done, total)``."""

    def __init__(self, console: Any, quiet: bool):
        self.console, self.quiet = console, quiet
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self) -> Any:
        if self.quiet:
            return lambda done, total: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.progress = Progress(
            "[bold]prepare",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.progress.__enter__()
        return self.update

    def update(self, done: int, total: int) -> None:
        if self.task is None:
            self.task = self.progress.add_task("samples", total=total)
        self.progress.update(self.task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.1f} {unit}" if unit != "B" else f"{count:,} B"
        value /= 1024
    return f"{count:,} B"  # pragma: no cover - the loop returns


def _summary(manifest: PreparedManifest, out: Path, processed: int, seconds: float) -> None:
    from rich.markup import escape

    console = stdout()
    counts = manifest.counts
    console.print(
        f"{counts.samples:,} samples written ({counts.kept:,} images kept, "
        f"{counts.reencoded:,} re-encoded), {counts.bad:,} bad, in {len(manifest.shards)} "
        f"shards",
        soft_wrap=True,
    )
    console.print(f"bytes: {_size(counts.bytes_in)} in -> {_size(counts.bytes_out)} out")
    options = manifest.options
    bound = f"max side {options.max_side}" if options.max_side else f"min side {options.min_side}"
    stored = "raw uint8 pixels (npy)" if options.raw else f"JPEG quality {options.quality}"
    if options.max_side or options.min_side:
        console.print(f"bound: {bound} px, {stored}")
    elif options.raw:
        console.print(f"stored as {stored}")
    if processed:
        rate = processed / seconds if seconds > 0 else 0.0
        console.print(f"{processed:,} samples in {seconds:.1f} s: {rate:,.1f} images/s")
    else:
        console.print("already complete: nothing to do")
    for entry in manifest.bad[:SHOWN_BAD]:
        detail = f" ({entry.detail})" if entry.detail else ""
        console.print(
            f"  bad: {escape(entry.path)}: {entry.reason}{escape(detail)}", soft_wrap=True
        )
    if len(manifest.bad) > SHOWN_BAD:
        console.print(f"  ... and {len(manifest.bad) - SHOWN_BAD} more (see prepared.json)")
    console.print(f"written to {escape(str(out))}", soft_wrap=True)
