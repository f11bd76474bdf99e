"""``bench --corners`` without ``--prepared``: the prepared copy of the data, made once and cached.

The copy lives under ``<cache-dir>/prepared/`` in a folder named by the source's fingerprint and
the bound, so a changed data set or another ``--max-side`` gets its own copy, and an interrupted
preparation resumes on the next run (``prepare`` resumes where it stopped).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ._common import stderr

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..bench.report import BenchConfig


def prepared_copy(root: Path, config: BenchConfig, args: argparse.Namespace) -> Path:
    """The prepared copy of the ImageFolder ``root`` at ``config.max_side`` (made if missing);
    ``auto`` plans the side from the run's spec (``prepare(max_side="auto")``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ..data import ImageFolder
    from ..preparation import prepare
    from ..spec import load_spec

    source = ImageFolder(root)
    bound = f"max{config.max_side}"
    if config.max_side == "auto":  # the side depends on the spec: one copy per spec
        bound = f"auto-{load_spec(config.spec).fingerprint[:12]}"
    name = f"{Path(os.path.abspath(root)).name}-{source.fingerprint()[:12]}-{bound}"
    target = Path(args.cache_dir) / "prepared" / name
    err = stderr()
    with Progress(
        "[bold]prepare",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(str(target), total=len(source))
        manifest = prepare(
            source,
            target,
            spec=config.spec,
            max_side=config.max_side,
            workers=config.threads,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    counts = manifest.counts
    err.print(
        f"prepared copy in {target}: max side {manifest.options.max_side}, {counts.reencoded} "
        f"re-encoded, {counts.kept} kept, {counts.bad} bad"
    )
    return target
