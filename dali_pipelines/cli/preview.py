"""``dali-pipelines preview SPEC --data DIR --out grid.png``: K samples x M random draws of a
spec as a PNG grid, to check an augmentation by eye before training on it.

Exit codes: 0 written, 1 failed (a spec or data that cannot run), 2 bad usage.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import SubParsers, add_command, option_from_field, stderr


def register(subparsers: SubParsers) -> None:
    parser = add_command(
        subparsers,
        "preview",
        help="draw K samples x M random draws of a spec as a PNG grid",
        description="Run SPEC on the first --samples samples of --data once per draw (draw m is "
        "epoch m: the same seed and sample index give the same draw on every backend) and "
        "write a grid: rows are samples (file name and label), columns are draws. Images are "
        "shown un-normalized (the spec's normalize undone, clamped to [0, 1]); boxes are drawn "
        "for a spec with a boxes output over --annotations (COCO); an audio spec shows its "
        "features (bins over seconds) or waves. --reference puts the reference backend's "
        "output on the same draws next to each DALI tile. Needs matplotlib.",
        handler=run,
    )
    parser.add_argument("spec", metavar="SPEC", **_field("spec"))
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="an ImageFolder, an AudioFolder for an audio spec (a demo audio root is read "
        "from its clips/), or the images folder of --annotations",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("preview.png"), metavar="PNG", help="the PNG to write"
    )
    parser.add_argument("--samples", **_field("samples", metavar="K"))
    parser.add_argument("--draws", **_field("draws", metavar="M"))
    parser.add_argument("--seed", **_field("seed", metavar="N"))
    parser.add_argument("--device", **_field("device", type=_device, metavar="DEVICE"))
    parser.add_argument("--reference", **_field("reference", action="store_true"))
    parser.add_argument("--annotations", **_field("annotations", type=Path, metavar="JSON"))


def _field(name: str, **overrides: Any) -> dict[str, Any]:
    from ..bench.preview import PreviewConfig

    kwargs = option_from_field(PreviewConfig, name, **overrides)
    if name == "spec":  # a positional argument takes no dest keyword
        kwargs.pop("dest")
    return kwargs


def _device(text: str) -> str:
    from ..errors import DaliPipelinesError
    from ..loader.config import parse_device

    try:
        return parse_device(text)
    except DaliPipelinesError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("device: ")) from None


def run(args: argparse.Namespace) -> int:
    from ..bench.preview import PreviewConfig, collect_preview, draws_differ
    from ..bench.preview_plot import write_preview

    err = stderr()
    problem = _usage_problem(args)
    if problem is not None:
        err.print(f"error: {problem}", soft_wrap=True, markup=False)
        return 2
    config = PreviewConfig(**{name: getattr(args, name) for name in PreviewConfig.model_fields})
    with err.status(f"running {config.spec} on {args.data}"):
        preview = collect_preview(args.data, config)
    if preview.random and config.draws > 1 and not draws_differ(preview):
        err.print(
            "[yellow]warning:[/yellow] the spec draws at random but every draw came out alike"
        )
    err.print(f"preview written to {write_preview(preview, args.out)}", soft_wrap=True)
    return 0


def _usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the options, before any work (None: nothing)."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        return "preview needs matplotlib: pip install 'dali-pipelines[bench]'"
    if args.data is None:
        return "--data: expected an image or audio folder, got none"
    if not args.data.is_dir():
        got = "a file" if args.data.exists() else "no such folder"
        return f"--data: expected a folder, got {args.data} ({got})"
    if args.annotations is not None and not args.annotations.is_file():
        return f"--annotations: expected a COCO JSON file, got {args.annotations} (no such file)"
    if args.out.suffix.lower() != ".png":
        return f"--out: expected a .png path, got {args.out}"
    from ..errors import DaliPipelinesError
    from ..plan import make_plan
    from ..spec import load_spec

    try:
        plan = make_plan(load_spec(args.spec))
    except (DaliPipelinesError, OSError, ValueError) as exc:  # unknown name, unreadable file
        return f"SPEC: {exc}"
    if plan.layout.boxes is not None and args.annotations is None:
        return "--annotations: expected a COCO instances JSON for a spec with boxes, got none"
    if plan.audio and args.annotations is not None:
        return f"--annotations: expected none for an audio spec, got {args.annotations}"
    return None
