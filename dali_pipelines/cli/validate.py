"""``dali-pipelines validate DIR``: find the files of a dataset that would stop training."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ._common import (
    SubParsers,
    add_command,
    non_negative_int,
    positive_int,
    positive_seconds,
    stderr,
)


def _columns(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected column names, comma-separated, got {text!r}")
    return names


def _decoders(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names or any(name not in ("pil", "dali") for name in names):
        raise argparse.ArgumentTypeError(f"expected pil, dali or pil,dali, got {text!r}")
    return names


def register(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "validate",
        help="find empty, truncated, corrupt, unsupported or oversized images or audio files",
        description="Check every image of an ImageFolder (DIR/class/file), of a CSV/JSONL "
        "manifest (its image columns) or of a text file (one image path a line), in parallel. "
        "Only regular files are read, each up to --max-file-bytes. Quick mode reads headers: "
        "signature, JPEG markers, PNG chunks, size; a JPEG without its end marker is decoded "
        "to decide. --deep decodes every file with PIL and with DALI's CPU decoder. Exits 1 "
        "when a file is bad, 2 when DIR does not exist. Verdicts are cached by path, size "
        "and mtime, so a re-run checks only new or changed files. Audio (.wav, .flac, .ogg; "
        "told by the extensions, or --modality audio): the header is readable and has "
        "frames, a WAV is not truncated, the rate, channels and duration are within the "
        "bounds given; --deep decodes every frame with soundfile.",
        handler=run,
    )
    parser.add_argument(
        "data",
        type=Path,
        nargs="?",
        default=Path("."),
        metavar="DIR",
        help="ImageFolder or AudioFolder root, CSV/JSONL manifest, or text file of paths",
    )
    parser.add_argument("--deep", action="store_true", help="decode every file fully")
    parser.add_argument(
        "--decoders",
        type=_decoders,
        default=None,
        metavar="LIST",
        help="with --deep: pil, dali or pil,dali (default: both when DALI imports)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="parallel checks (default: one per CPU)",
    )
    parser.add_argument(
        "--executor",
        choices=("thread", "process"),
        default="thread",
        help="parallel checks in threads (decoders release the GIL) or worker processes",
    )
    _add_limits(parser)
    _add_audio(parser)
    parser.add_argument(
        "--json", type=Path, default=None, metavar="OUT", help="write the full report as JSON"
    )
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="PATH",
        help="SQLite cache of verdicts (default: .dali-pipelines-validate.sqlite in DIR)",
    )
    cache.add_argument("--no-cache", action="store_true", help="check every file again")
    parser.add_argument(
        "--show",
        type=non_negative_int,
        default=20,
        help="how many bad files to list in the terminal",
    )


def _add_limits(parser: argparse.ArgumentParser) -> None:
    """What counts as too large, and which columns of a manifest are images."""
    parser.add_argument(
        "--max-pixels",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="images with more pixels are bad; 0: no limit (for PIL too) "
        "(default: PIL's 89,478,485)",
    )
    parser.add_argument(
        "--max-file-bytes",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="files larger than N bytes are bad (too_many_bytes), never read whole; 0: no "
        "bound (default: 268,435,456, 256 MiB)",
    )
    parser.add_argument(
        "--columns",
        type=_columns,
        default=None,
        metavar="LIST",
        help="a CSV/JSONL manifest's image columns, comma-separated (default: every column "
        "whose cells are all image file names)",
    )


def _add_audio(parser: argparse.ArgumentParser) -> None:
    """What the files are, and the bounds an audio file must keep (the audio spec's own)."""
    group = parser.add_argument_group("audio")
    group.add_argument(
        "--modality",
        choices=("auto", "image", "audio"),
        default="auto",
        help="what the files are; auto: audio when most files end in .wav, .flac or .ogg",
    )
    group.add_argument(
        "--sample-rate-min",
        type=positive_int,
        default=None,
        metavar="HZ",
        help="audio recorded below HZ samples/s is bad (bad_sample_rate)",
    )
    group.add_argument(
        "--sample-rate-max",
        type=positive_int,
        default=None,
        metavar="HZ",
        help="audio recorded above HZ samples/s is bad (bad_sample_rate)",
    )
    group.add_argument(
        "--channels",
        type=positive_int,
        default=None,
        metavar="N",
        help="audio with another channel count is bad (bad_channels)",
    )
    group.add_argument(
        "--max-seconds",
        type=positive_seconds,
        default=None,
        metavar="S",
        help="audio longer than S seconds is bad (too_long)",
    )


def _audio_bounds(args: argparse.Namespace) -> Any:
    """The bounds the options give (an ``AudioBounds``), or ``None`` when none is set."""
    from ..data.validate_audio import AudioBounds

    values = (args.sample_rate_min, args.sample_rate_max, args.channels, args.max_seconds)
    return None if all(v is None for v in values) else AudioBounds(*values)


def _usage_error(args: argparse.Namespace, modality: str, bounds: Any) -> str | None:
    low, high = args.sample_rate_min, args.sample_rate_max
    if low is not None and high is not None and low > high:
        return f"--sample-rate-min: expected <= --sample-rate-max ({high}), got {low}"
    if modality == "image" and bounds is not None:
        return "--sample-rate-min/-max, --channels, --max-seconds: expected audio files, got images"
    if modality == "audio" and args.decoders is not None:
        return "--decoders: expected none for audio (--deep decodes it with soundfile)"
    return None


def _open_source(args: argparse.Namespace, max_bytes: int | None) -> tuple[Any, Any] | str:
    """(the source to check, the audio bounds), or a usage error's message."""
    from ..data.validate import NotADatasetError, as_source, source_modality

    if not args.data.exists():
        return f"DIR: expected an existing folder or file, got {args.data}"
    try:  # a DatasetError (a message, exit 1) for a bad folder or manifest
        source = as_source(
            args.data, max_file_bytes=max_bytes, columns=args.columns, modality=args.modality
        )
    except NotADatasetError as exc:  # an image or a binary file as DIR: a usage error
        return str(exc)
    bounds = _audio_bounds(args)
    problem = _usage_error(args, source_modality(source, args.modality), bounds)
    return (source, bounds) if problem is None else problem


def default_cache(data: Path) -> Path:
    from ..data.validate import CACHE_NAME

    return (data if data.is_dir() else data.parent) / CACHE_NAME


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TimeElapsedColumn,
    )

    from ..data.checks import DEFAULT_MAX_PIXELS
    from ..data.read import DEFAULT_MAX_FILE_BYTES
    from ..data.validate import validate

    err = stderr()
    max_pixels = DEFAULT_MAX_PIXELS if args.max_pixels is None else (args.max_pixels or None)
    max_bytes = args.max_file_bytes
    max_bytes = DEFAULT_MAX_FILE_BYTES if max_bytes is None else (max_bytes or None)
    opened = _open_source(args, max_bytes)
    if isinstance(opened, str):
        err.print(f"[bold red]error:[/bold red] {escape(opened)}", soft_wrap=True)
        return 2
    source, bounds = opened
    cache = None if args.no_cache else (args.cache or default_cache(args.data))
    # The progress bar writes to its own copy of stderr: validate(quiet=True) redirects fd 2
    # while DALI decodes, to keep nvImageCodec's native log lines off the terminal.
    with os.fdopen(os.dup(2), "w", buffering=1) as bar_file:
        bar = Console(file=bar_file, highlight=False)
        with Progress(
            "[bold]validate",
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=bar,
            transient=True,
        ) as progress:
            task = progress.add_task("files", total=len(source))
            report = validate(
                source,
                deep=args.deep,
                decoders=args.decoders,
                workers=args.workers,
                max_pixels=max_pixels,
                max_file_bytes=max_bytes,
                cache=cache,
                executor=args.executor,
                on_progress=lambda n: progress.advance(task, n),
                quiet=True,
                modality=args.modality,
                audio=bounds,
            )
    for note in report.notes:
        err.print(f"[yellow]note:[/yellow] {note}")
    if args.json is not None:
        report.write_json(args.json)
    from ._validate_report import print_report

    print_report(report, args.show, json_path=args.json)
    return 0 if report.ok else 1
