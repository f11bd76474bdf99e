"""``dali-pipelines demo-data OUT``: write the demo ImageFolder (JPEGs from scikit-image photos)
or, with ``--modality audio``, the demo audio folders (synthesized clips, an optional long
recording)."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ._common import (
    SubParsers,
    add_command,
    non_negative_int,
    positive_int,
    positive_seconds,
    stderr,
    stdout,
)

if TYPE_CHECKING:  # pragma: no cover - typing only (rich loads when a command runs)
    from rich.progress import Progress

#: Defaults per modality: an image benchmark wants thousands of files; synthesized clips are
#: seconds long each, so fewer make a corpus of the same order of bytes.
DEFAULT_N = {"image": 2000, "audio": 200}
DEFAULT_N_LARGE = 300  # 1,500-3,000 px photos: about 1 MiB each
DEFAULT_CLASSES = 10


def register(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "demo-data",
        help="write a demo ImageFolder of realistic JPEGs, or demo audio folders",
        description="Write OUT/class_XXX/NNNNN.jpg: random crops, rescales, flips and colour "
        "shifts of the photos shipped with scikit-image (300-700 px sides, JPEG quality "
        "75-95); needs the 'bench' extra. With --modality audio: OUT/clips/<class>/NNNNN."
        "{wav,flac,ogg}, synthesized tones, chirps, noise bursts and vowels at 8-48 kHz, "
        "0.5-8 s, mono and stereo (an AudioFolder), and with --long-seconds one long 16 kHz "
        "recording in OUT/long/recording/. With --large: 1,500-3,000 px photos (Lanczos-"
        "upscaled crops and tiles of the same photos, mild luma noise, JPEG quality 90). "
        "The same seed writes byte-identical files.",
        handler=run,
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="folder to create")
    parser.add_argument(
        "--modality", choices=("image", "audio"), default="image", help="what to write"
    )
    parser.add_argument(
        "--n",
        type=positive_int,
        default=None,
        help=f"number of images or clips (default: {DEFAULT_N['image']} images, "
        f"{DEFAULT_N['audio']} clips)",
    )
    parser.add_argument(
        "--classes",
        type=positive_int,
        default=None,
        help=f"number of image classes (default: {DEFAULT_CLASSES}; audio has its 4 sound classes)",
    )
    parser.add_argument(
        "--long-seconds",
        type=positive_seconds,
        default=None,
        metavar="S",
        help="audio: also write one recording S seconds long (e.g. 600, for chunked reading)",
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help=f"images: 1,500-3,000 px photos at JPEG quality 90 (default --n {DEFAULT_N_LARGE})",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    parser.add_argument(
        "--workers", type=positive_int, default=None, help="encoding threads (default: all CPUs)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace OUT if it holds demo data from an earlier run",
    )


def _usage_error(args: argparse.Namespace) -> str | None:
    if args.modality == "audio":
        from ..data.demo_audio import CLASSES

        if args.n < len(CLASSES):
            return f"--n: expected at least {len(CLASSES)} clips (one a class), got {args.n}"
        if args.classes is not None:
            return "--classes: expected none with --modality audio (its classes are fixed)"
        if args.large:
            return "--large: expected --modality image, got --modality audio"
        return None
    if args.long_seconds is not None:
        return "--long-seconds: expected --modality audio, got --modality image"
    if args.classes > args.n:
        return f"--classes: expected at most --n ({args.n}), got {args.classes}"
    return None


def run(args: argparse.Namespace) -> int:
    from ..data.demo import read_manifest

    err = stderr()
    if args.n is None:
        args.n = DEFAULT_N_LARGE if args.large else DEFAULT_N[args.modality]
    if args.modality == "image" and args.classes is None:
        args.classes = DEFAULT_CLASSES
    problem = _usage_error(args)
    if problem is not None:
        err.print(f"error: {problem}")
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
    what = _write_audio(args) if args.modality == "audio" else _write_images(args)
    seconds = time.perf_counter() - start
    manifest = read_manifest(out) or {}
    size_mib = manifest.get("total_bytes", 0) / 2**20
    stdout().print(f"wrote {what} ({size_mib:.1f} MiB) in {seconds:.1f} s")
    return 0


def _progress(label: str) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        f"[bold]{label}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=stderr()
    )


def _write_images(args: argparse.Namespace) -> str:
    from ..data.demo import make_demo_imagefolder
    from ..data.demo_large import make_large_demo

    make = make_large_demo if args.large else make_demo_imagefolder
    with _progress("demo-data") as progress:
        task = progress.add_task("images", total=args.n)
        make(
            args.out,
            n=args.n,
            classes=args.classes,
            seed=args.seed,
            workers=args.workers,
            on_image=lambda: progress.advance(task),
        )
    large = " large" if args.large else ""
    return f"{args.n}{large} JPEGs in {args.classes} classes to {args.out}"


def _write_audio(args: argparse.Namespace) -> str:
    from ..data.demo_audio import CLASSES, CLIPS_DIR, LONG_DIR, make_demo_audio

    with _progress("demo-data") as progress:
        task = progress.add_task("clips", total=args.n)
        make_demo_audio(
            args.out,
            n=args.n,
            seed=args.seed,
            long_seconds=args.long_seconds,
            workers=args.workers,
            on_file=lambda: progress.advance(task),
        )
    what = f"{args.n} audio clips in {len(CLASSES)} classes to {args.out / CLIPS_DIR}"
    if args.long_seconds is not None:
        what += f" and a {args.long_seconds:g} s recording to {args.out / LONG_DIR}"
    return what
