"""What ``prepare --max-side N`` costs and buys: prepare throughput and the crops' difference.

For each bound (DCT-scaled decodes at each reducing gap, and a full decode) the ImageFolder is
prepared into a scratch folder, timed, and the 224-px evaluation crops (resize 256, centre crop
224, DALI CPU) of the prepared copy are compared with the originals'
(:mod:`dali_pipelines.bench.quality`). Also
prints the bound decode planning picks for imagenet_train and imagenet_val (``--max-side
auto``) at a few coverages.

    python benchmarks/prepared_quality.py /tmp/large --sides 384,512,768 --workers 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from dali_pipelines import ImageFolder, Prepared, prepare
from dali_pipelines.bench.quality import crop_difference
from dali_pipelines.plan import make_plan
from dali_pipelines.plan.decode_scale import side_for
from dali_pipelines.preparation.auto import image_sizes
from dali_pipelines.preparation.source import bind
from dali_pipelines.spec import load_spec


def _planned(root: Path) -> None:
    sizes = image_sizes(bind(str(root)))
    for name in ("imagenet_train", "imagenet_val"):
        plan = make_plan(load_spec(name))
        sides = {c: side_for(plan, sizes, coverage=c) for c in (0.5, 0.9, 0.95, 1.0)}
        listed = ", ".join(f"{c:.0%}: {s}" for c, s in sides.items())
        print(f"auto max side, {name} over {len(sizes)} image sizes: {listed}")


def _one(root: Path, scratch: Path, side: int, gap: float | None, workers: int) -> None:
    """One copy: ``gap`` None decodes in full, else DCT scaling with that reducing gap."""
    out = scratch / f"side{side}-{gap}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    dct = {"dct_scaling": False} if gap is None else {"reducing_gap": gap}
    manifest = prepare(root, out, max_side=side, workers=workers, **dct)
    seconds = time.perf_counter() - start
    copy = Prepared(out)
    diff = crop_difference(ImageFolder(root), copy, copy.source_indices(), threads=workers)
    counts = manifest.counts
    print(
        f"max side {side:>4} {'full decode' if gap is None else f'DCT gap {gap:g}':<11}: "
        f"prepare {counts.samples / seconds:6.1f}"
        f" img/s, {counts.bytes_out / 1e6:6.1f} MB out | crops: mean abs {diff.mean_abs:5.2f}, "
        f"p99 image {diff.p99_image_mean_abs:5.2f}, max image {diff.max_image_mean_abs:5.2f}"
    )
    shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="an ImageFolder (e.g. demo-data --large)")
    parser.add_argument("--sides", default="384,512,768")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--gaps", default="1,2", help="reducing gaps of the DCT-scaled runs")
    parser.add_argument("--no-full", action="store_true", help="skip the full-decode runs")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    _planned(args.root)
    with tempfile.TemporaryDirectory() as scratch:
        for side in (int(s) for s in args.sides.split(",")):
            gaps: list[float | None] = [float(g) for g in args.gaps.split(",")]
            for gap in gaps if args.no_full else [*gaps, None]:
                _one(args.root, Path(scratch), side, gap, args.workers)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
